import Testing

@testable import Aggregation

@Suite struct ResponseFlagsTests {
    @Test func orderIsASetInEnvoysTableOrder() {
        #expect(ResponseFlags.canonical("URX,UF") == "UF,URX")
        #expect(ResponseFlags.canonical("UF,URX") == "UF,URX")
        #expect(ResponseFlags.canonical("DC") == "DC")
        #expect(ResponseFlags.canonical("-") == "-")
        #expect(ResponseFlags.canonical("") == "-")
    }

    @Test func longNamesBecomeShortCodes() {
        #expect(ResponseFlags.canonical("UpstreamRetryLimitExceeded,UpstreamConnectionFailure") == "UF,URX")
        #expect(ResponseFlags.canonical("NoRouteFound") == "NR")
    }

    @Test func unknownCodesAreKeptAfterKnownOnes() {
        #expect(ResponseFlags.canonical("ZZ,UF,AA") == "UF,AA,ZZ")
        #expect(ResponseFlags.split("UF, UF ,URX") == ["UF", "URX"])
    }

    @Test func tableAndLongNamesLineUp() {
        #expect(ResponseFlags.codes.count == 30)
        #expect(ResponseFlags.longNames.count == ResponseFlags.codes.count)
        #expect(Set(ResponseFlags.codes).count == 30)
    }
}

@Suite struct PerFlagCounterTests {
    /// A configuration may leave `response_flags` off every family; the per-flag counter still
    /// needs the record's flag set, and records with different sets must not share a cache entry.
    @Test func flagsAreCountedWhenNoFamilyIsLabelledByTheSet() {
        let families = [
            FamilyDefinition(
                name: "requests", help: "", type: .counter, observation: .requests,
                labels: [.init("route", .route)]),
            FamilyDefinition(
                name: "flags", help: "", type: .counter, observation: .responseFlags,
                labels: [.init("route", .route), .init("flag", .flag)]),
        ]
        let harness = Harness(families: families)
        func record(_ flags: String) -> String {
            """
            {"method":"GET","path":"/a","protocol":"HTTP/1.1","response_code":503,"response_flags":"\(flags)",\
            "duration":1,"route_name":"a"}
            """
        }
        harness.feed([record("UF"), record("URX,UF"), record("-"), record("NR")])
        let snapshot = harness.snapshot()
        #expect(snapshot.sum("flags", where: ["flag": "UF"]) == 2)
        #expect(snapshot.sum("flags", where: ["flag": "URX"]) == 1)
        #expect(snapshot.sum("flags", where: ["flag": "NR"]) == 1)
        #expect(snapshot.sum("requests", where: ["route": "a"]) == 4)
    }
}
