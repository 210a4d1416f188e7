import MapBackends
import Maps
import Testing

@Suite struct CatalogRegistryTests {
    @Test func everyImplementedRowHasAnOpenerAndEveryOpenerARow() {
        #expect(MapBackends.registry.mismatches(with: MapCatalog.entries).isEmpty,
                "\(MapBackends.registry.mismatches(with: MapCatalog.entries))")
        #expect(MapBackends.registry.typeNames == MapCatalog.implementedNames)
    }

    @Test func backendRowsNameTheirModules() {
        for type in MapBackends.types {
            guard case .backend = MapCatalog.entry(named: type.name)?.implementation else {
                Issue.record("\(type.name) is not a backend row")
                continue
            }
        }
    }
}
