/// Bucket boundaries of the standard exponential schemas within one power of two.
///
/// Entry `j` is 2^(j/256) rounded *down* to the nearest `Double`, so that for any `Double`
/// significand `m`, `m <= significands[j]` holds exactly when `m <= 2^(j/256)` does. This
/// makes ``NativeHistogram/bucketIndex(for:schema:)`` equal to the exact `ceil(log_base(v))`
/// of the specification for every finite `Double`, not only up to rounding. The entries were
/// computed with 100-digit decimal arithmetic; the test suite checks each one with exact
/// integer arithmetic.
///
/// Schema `s` (1...8) uses every 2^(8-s)-th entry: its 2^s boundaries within `[1, 2)` are
/// `significands[k << (8 - s)]` for `k` in `0 ..< 1 << s`. One table therefore serves all
/// schemas, and halving the resolution keeps every surviving boundary bit-identical, which is
/// what makes ``NativeHistogram`` schema reduction exact.
enum ExponentialBounds {
    static let significands: [Double] = [
        0x1.0000000000000p+0, 0x1.00b1afa5abcbep+0, 0x1.0163da9fb3335p+0, 0x1.02168143b0280p+0,
        0x1.02c9a3e778060p+0, 0x1.037d42e11bbccp+0, 0x1.04315e86e7f84p+0, 0x1.04e5f72f654b1p+0,
        0x1.059b0d3158574p+0, 0x1.0650a0e3c1f88p+0, 0x1.0706b29ddf6ddp+0, 0x1.07bd42b72a836p+0,
        0x1.0874518759bc8p+0, 0x1.092bdf66607dfp+0, 0x1.09e3ecac6f383p+0, 0x1.0a9c79b1f3919p+0,
        0x1.0b5586cf9890fp+0, 0x1.0c0f145e46c85p+0, 0x1.0cc922b7247f7p+0, 0x1.0d83b23395debp+0,
        0x1.0e3ec32d3d1a2p+0, 0x1.0efa55fdfa9c4p+0, 0x1.0fb66affed31ap+0, 0x1.1073028d7233ep+0,
        0x1.11301d0125b50p+0, 0x1.11edbab5e2ab5p+0, 0x1.12abdc06c31cbp+0, 0x1.136a814f204aap+0,
        0x1.1429aaea92ddfp+0, 0x1.14e95934f312dp+0, 0x1.15a98c8a58e51p+0, 0x1.166a45471c3c2p+0,
        0x1.172b83c7d517ap+0, 0x1.17ed48695bbc0p+0, 0x1.18af9388c8de9p+0, 0x1.1972658375d2fp+0,
        0x1.1a35beb6fcb75p+0, 0x1.1af99f8138a1cp+0, 0x1.1bbe084045cd3p+0, 0x1.1c82f95281c6bp+0,
        0x1.1d4873168b9aap+0, 0x1.1e0e75eb44026p+0, 0x1.1ed5022fcd91cp+0, 0x1.1f9c18438ce4cp+0,
        0x1.2063b88628cd6p+0, 0x1.212be3578a819p+0, 0x1.21f49917ddc96p+0, 0x1.22bdda27912d1p+0,
        0x1.2387a6e756238p+0, 0x1.2451ffb82140ap+0, 0x1.251ce4fb2a63fp+0, 0x1.25e85711ece75p+0,
        0x1.26b4565e27cddp+0, 0x1.2780e341ddf29p+0, 0x1.284dfe1f56380p+0, 0x1.291ba7591bb6fp+0,
        0x1.29e9df51fdee1p+0, 0x1.2ab8a66d10f12p+0, 0x1.2b87fd0dad98fp+0, 0x1.2c57e39771b2ep+0,
        0x1.2d285a6e4030bp+0, 0x1.2df961f641589p+0, 0x1.2ecafa93e2f56p+0, 0x1.2f9d24abd886ap+0,
        0x1.306fe0a31b715p+0, 0x1.31432edeeb2fdp+0, 0x1.32170fc4cd831p+0, 0x1.32eb83ba8ea31p+0,
        0x1.33c08b26416ffp+0, 0x1.3496266e3fa2cp+0, 0x1.356c55f929ff0p+0, 0x1.36431a2de883ap+0,
        0x1.371a7373aa9cap+0, 0x1.37f26231e7549p+0, 0x1.38cae6d05d865p+0, 0x1.39a401b7140eep+0,
        0x1.3a7db34e59ff6p+0, 0x1.3b57fbfec6cf4p+0, 0x1.3c32dc313a8e4p+0, 0x1.3d0e544ede173p+0,
        0x1.3dea64c123422p+0, 0x1.3ec70df1c5174p+0, 0x1.3fa4504ac801bp+0, 0x1.40822c367a024p+0,
        0x1.4160a21f72e29p+0, 0x1.423fb27094689p+0, 0x1.431f5d950a896p+0, 0x1.43ffa3f84b9d4p+0,
        0x1.44e086061892dp+0, 0x1.45c2042a7d231p+0, 0x1.46a41ed1d0057p+0, 0x1.4786d668b3236p+0,
        0x1.486a2b5c13cd0p+0, 0x1.494e1e192aed1p+0, 0x1.4a32af0d7d3dep+0, 0x1.4b17dea6db7d6p+0,
        0x1.4bfdad5362a27p+0, 0x1.4ce41b817c114p+0, 0x1.4dcb299fddd0dp+0, 0x1.4eb2d81d8abfep+0,
        0x1.4f9b2769d2ca6p+0, 0x1.508417f4531eep+0, 0x1.516daa2cf6641p+0, 0x1.5257de83f4eeep+0,
        0x1.5342b569d4f81p+0, 0x1.542e2f4f6ad27p+0, 0x1.551a4ca5d920ep+0, 0x1.56070dde910d1p+0,
        0x1.56f4736b527dap+0, 0x1.57e27dbe2c4cep+0, 0x1.58d12d497c7fdp+0, 0x1.59c0827ff07cbp+0,
        0x1.5ab07dd485429p+0, 0x1.5ba11fba87a02p+0, 0x1.5c9268a5946b7p+0, 0x1.5d84590998b92p+0,
        0x1.5e76f15ad2148p+0, 0x1.5f6a320dceb70p+0, 0x1.605e1b976dc08p+0, 0x1.6152ae6cdf6f4p+0,
        0x1.6247eb03a5584p+0, 0x1.633dd1d1929fdp+0, 0x1.6434634ccc31fp+0, 0x1.652b9febc8fb6p+0,
        0x1.6623882552224p+0, 0x1.671c1c70833f5p+0, 0x1.68155d44ca973p+0, 0x1.690f4b19e9538p+0,
        0x1.6a09e667f3bccp+0, 0x1.6b052fa75173ep+0, 0x1.6c012750bdabep+0, 0x1.6cfdcddd47645p+0,
        0x1.6dfb23c651a2ep+0, 0x1.6ef9298593ae4p+0, 0x1.6ff7df9519483p+0, 0x1.70f7466f42e87p+0,
        0x1.71f75e8ec5f73p+0, 0x1.72f8286ead089p+0, 0x1.73f9a48a58173p+0, 0x1.74fbd35d7cbfdp+0,
        0x1.75feb564267c8p+0, 0x1.77024b1ab6e09p+0, 0x1.780694fde5d3fp+0, 0x1.790b938ac1cf6p+0,
        0x1.7a11473eb0186p+0, 0x1.7b17b0976cfdap+0, 0x1.7c1ed0130c132p+0, 0x1.7d26a62ff86f0p+0,
        0x1.7e2f336cf4e62p+0, 0x1.7f3878491c490p+0, 0x1.80427543e1a11p+0, 0x1.814d2add106d9p+0,
        0x1.82589994cce12p+0, 0x1.8364c1eb941f7p+0, 0x1.8471a4623c7acp+0, 0x1.857f4179f5b20p+0,
        0x1.868d99b4492ecp+0, 0x1.879cad931a436p+0, 0x1.88ac7d98a6699p+0, 0x1.89bd0a478580fp+0,
        0x1.8ace5422aa0dbp+0, 0x1.8be05bad61778p+0, 0x1.8cf3216b5448bp+0, 0x1.8e06a5e0866d8p+0,
        0x1.8f1ae99157736p+0, 0x1.902fed0282c8ap+0, 0x1.9145b0b91ffc5p+0, 0x1.925c353aa2fe1p+0,
        0x1.93737b0cdc5e4p+0, 0x1.948b82b5f98e4p+0, 0x1.95a44cbc8520ep+0, 0x1.96bdd9a7670b2p+0,
        0x1.97d829fde4e4fp+0, 0x1.98f33e47a22a2p+0, 0x1.9a0f170ca07b9p+0, 0x1.9b2bb4d53fe0cp+0,
        0x1.9c49182a3f090p+0, 0x1.9d674194bb8d4p+0, 0x1.9e86319e32323p+0, 0x1.9fa5e8d07f29dp+0,
        0x1.a0c667b5de564p+0, 0x1.a1e7aed8eb8bbp+0, 0x1.a309bec4a2d33p+0, 0x1.a42c980460ad7p+0,
        0x1.a5503b23e255cp+0, 0x1.a674a8af46052p+0, 0x1.a799e1330b358p+0, 0x1.a8bfe53c12e58p+0,
        0x1.a9e6b5579fdbfp+0, 0x1.ab0e521356ebap+0, 0x1.ac36bbfd3f379p+0, 0x1.ad5ff3a3c2774p+0,
        0x1.ae89f995ad3adp+0, 0x1.afb4ce622f2fep+0, 0x1.b0e07298db665p+0, 0x1.b20ce6c9a8952p+0,
        0x1.b33a2b84f15fap+0, 0x1.b468415b749b0p+0, 0x1.b59728de55939p+0, 0x1.b6c6e29f1c52ap+0,
        0x1.b7f76f2fb5e46p+0, 0x1.b928cf22749e3p+0, 0x1.ba5b030a10649p+0, 0x1.bb8e0b79a6f1ep+0,
        0x1.bcc1e904bc1d2p+0, 0x1.bdf69c3f3a206p+0, 0x1.bf2c25bd71e08p+0, 0x1.c06286141b33cp+0,
        0x1.c199bdd85529cp+0, 0x1.c2d1cd9fa652bp+0, 0x1.c40ab5fffd07ap+0, 0x1.c544778fafb22p+0,
        0x1.c67f12e57d14bp+0, 0x1.c7ba88988c932p+0, 0x1.c8f6d9406e7b5p+0, 0x1.ca3405751c4dap+0,
        0x1.cb720dcef9069p+0, 0x1.ccb0f2e6d1674p+0, 0x1.cdf0b555dc3f9p+0, 0x1.cf3155b5bab73p+0,
        0x1.d072d4a07897bp+0, 0x1.d1b532b08c968p+0, 0x1.d2f87080d89f1p+0, 0x1.d43c8eacaa1d6p+0,
        0x1.d5818dcfba487p+0, 0x1.d6c76e862e6d3p+0, 0x1.d80e316c98397p+0, 0x1.d955d71ff6075p+0,
        0x1.da9e603db3285p+0, 0x1.dbe7cd63a8314p+0, 0x1.dd321f301b460p+0, 0x1.de7d5641c0657p+0,
        0x1.dfc97337b9b5ep+0, 0x1.e11676b197d16p+0, 0x1.e264614f5a128p+0, 0x1.e3b333b16ee11p+0,
        0x1.e502ee78b3ff6p+0, 0x1.e653924676d75p+0, 0x1.e7a51fbc74c83p+0, 0x1.e8f7977cdb73fp+0,
        0x1.ea4afa2a490d9p+0, 0x1.eb9f4867cca6ep+0, 0x1.ecf482d8e67f0p+0, 0x1.ee4aaa2188510p+0,
        0x1.efa1bee615a27p+0, 0x1.f0f9c1cb64129p+0, 0x1.f252b376bba97p+0, 0x1.f3ac948dd7273p+0,
        0x1.f50765b6e4540p+0, 0x1.f6632798844f8p+0, 0x1.f7bfdad9cbe13p+0, 0x1.f91d802243c88p+0,
        0x1.fa7c1819e90d8p+0, 0x1.fbdba3692d513p+0, 0x1.fd3c22b8f71f1p+0, 0x1.fe9d96b2a23d9p+0,
        // Entry 256 is 2 (2^(256/256)), the end of the binade: no significand reaches it, so
        // `rank` may read it when every boundary is below the significand.
        0x1.0000000000000p+1,
    ]

    /// `cellRanks[c]` is the number of schema-8 boundaries below `1 + c / 512`, the start of
    /// the `c`-th of 512 equal cells of `[1, 2)`.
    ///
    /// Neighbouring schema-8 boundaries are at least 2^(1/256) - 1 ≈ 0.0027 apart, more than a
    /// cell's width of 1/512 ≈ 0.00195, so a cell holds at most one boundary; `rank` needs one
    /// lookup here and one comparison instead of a search.
    static let cellRanks: [UInt16] = (0..<512).map { cell in
        let cellStart = 1 + Double(cell) / 512
        // Fits: at most 256.
        return UInt16(truncatingIfNeeded: significands[0..<256].count { $0 < cellStart })
    }

    /// The number of boundaries of `schema` (1...8) within `[1, 2)` that are below
    /// `significand`, in `0 ... 1 << schema`.
    ///
    /// - Parameter significand: In `[1, 2)`.
    static func rank(of significand: Double, schema: Int) -> Int {
        // The top 9 of the 52 stored significand bits number the cell holding the significand.
        let cell = Int(truncatingIfNeeded: significand.significandBitPattern >> 43)
        // All boundaries below the cell are below the significand; the one boundary that may
        // lie inside the cell is the next one, and counts if the significand is above it.
        let candidate = Int(cellRanks[cell])
        let finest = candidate + (significands[candidate] < significand ? 1 : 0)
        // Schema `schema` keeps every 2^(8 - schema)-th boundary, so of the first `finest`
        // schema-8 boundaries, ceil(finest / 2^(8 - schema)) belong to it.
        return ((finest - 1) >> (8 - schema)) + 1
    }
}
