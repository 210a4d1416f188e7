import MapTools
#if canImport(Glibc)
import Glibc
#endif

exit(Postmap.main(CommandLine.arguments))
