import PostfixText
import MapTools
#if canImport(Glibc)
import Glibc
#endif

exit(Postmap.main(CommandLineBytes.arguments()))
