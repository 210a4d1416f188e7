import PostfixConfig
#if canImport(Glibc)
import Glibc
#endif

exit(Postconf.main(Postconf.rawArguments()))
