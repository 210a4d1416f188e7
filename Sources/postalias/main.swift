import PostfixText
import MapTools
#if canImport(Glibc)
import Glibc
#endif

exit(Postalias.main(CommandLineBytes.arguments()))
