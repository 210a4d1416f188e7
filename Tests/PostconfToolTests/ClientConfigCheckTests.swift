import Maps
@testable import PostconfTool
import Testing

/// `postconf --check` checks every client table type (the catalog's `.clientConfig` rows) with a part of
/// `ClientConfigCheck`: a new client type without one fails here, not silently in the lint.
@Suite struct ClientConfigCheckTests {
    @Test("every .clientConfig row of the catalog has a client-check part")
    func everyClientTypeHasAPart() {
        let types = ClientConfigCheck.types
        #expect(!types.isEmpty)
        for type in types {
            #expect(ClientConfigCheck.parts[type] != nil, "no ClientConfigCheck part for client type \(type)")
        }
    }

    @Test("every part belongs to a .clientConfig row of the catalog")
    func everyPartIsAClientType() {
        let types = Set(ClientConfigCheck.types)
        for type in ClientConfigCheck.parts.keys {
            #expect(types.contains(type), "ClientConfigCheck part \(type) is not a .clientConfig row of the catalog")
        }
    }
}
