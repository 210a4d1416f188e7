import PostconfTool
#if canImport(Glibc)
import Glibc
#endif

exit(Postconf.main(Postconf.rawArguments()))
