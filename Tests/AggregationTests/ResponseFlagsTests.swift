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
