import TestSupport

// Names the tests used before TestSupport; each is the one TestSupport type.
typealias RawClient = SocketClient
typealias ServerTestError = TestSupportError
typealias SlapdError = TestSupportError
