import PostfixText
import MapTools
#if canImport(Glibc)
import Glibc
#endif

exit(Newaliases.main(CommandLineBytes.arguments()))
