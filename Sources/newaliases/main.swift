import MapTools
#if canImport(Glibc)
import Glibc
#endif

exit(Newaliases.main(CommandLine.arguments))
