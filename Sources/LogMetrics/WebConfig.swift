import Foundation
import NIOSSL
import ScrapeServer
import Yams

/// The Prometheus exporters' web configuration file (`--web.config.file`, the exporter-toolkit
/// format): TLS for the scrape port, and basic authentication with bcrypt hashes.
///
///     tls_server_config:
///       cert_file: server.crt        # or cert: inline PEM
///       key_file: server.key         # or key: inline PEM
///       client_auth_type: RequireAndVerifyClientCert
///       client_ca_file: clients.pem
///       min_version: TLS12
///     basic_auth_users:
///       prometheus: $2y$10$...
///
/// Read once at start. What this server cannot do (Go cipher-suite names, curve preferences,
/// custom headers, HTTP/2) is refused by name rather than silently ignored.
struct WebConfig {
    var tls: NIOSSLContext?
    var authenticator: BasicAuthenticator?

    struct Problem: Error, CustomStringConvertible {
        let file: String
        let key: String
        let message: String
        var description: String { key.isEmpty ? "\(file): \(message)" : "\(file): \(key): \(message)" }
    }

    static func load(path: String) throws -> WebConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Problem(file: path, key: "", message: "cannot be read: \(error.localizedDescription)")
        }
        let root: Any?
        do {
            root = try Yams.load(yaml: text)
        } catch {
            throw Problem(file: path, key: "", message: "not valid YAML: \(error)")
        }
        guard let top = root as? [String: Any] ?? (root == nil ? [:] : nil) else {
            throw Problem(file: path, key: "", message: "expected a mapping")
        }
        func fail(_ key: String, _ message: String) -> Problem { Problem(file: path, key: key, message: message) }
        func mapping(_ value: Any?, _ key: String) throws -> [String: Any] {
            guard let value else { return [:] }
            guard let map = value as? [String: Any] else { throw fail(key, "expected a mapping") }
            return map
        }
        func string(_ map: [String: Any], _ name: String, _ section: String) throws -> String? {
            guard let value = map[name] else { return nil }
            guard let text = value as? String else { throw fail("\(section).\(name)", "expected a string") }
            return text
        }
        for key in top.keys where !["tls_server_config", "http_server_config", "basic_auth_users"].contains(key) {
            throw fail(key, "unknown key (tls_server_config, http_server_config, basic_auth_users)")
        }
        var config = WebConfig()
        let http = try mapping(top["http_server_config"], "http_server_config")
        for (key, value) in http {
            switch key {
            case "http2" where (value as? Bool) == false: continue
            case "http2":
                throw fail("http_server_config.http2", "HTTP/2 is not served here; set it to false or drop it")
            default: throw fail("http_server_config.\(key)", "not supported by logmetrics' server")
            }
        }
        let users = try mapping(top["basic_auth_users"], "basic_auth_users")
        if !users.isEmpty {
            var hashes: [String: String] = [:]
            for (user, hash) in users {
                guard let hash = hash as? String else {
                    throw fail("basic_auth_users.\(user)", "expected a bcrypt hash")
                }
                hashes[user] = hash
            }
            do {
                config.authenticator = try BasicAuthenticator(users: hashes)
            } catch {
                throw fail("basic_auth_users", error.description)
            }
        }
        let tls = try mapping(top["tls_server_config"], "tls_server_config")
        if !tls.isEmpty {
            config.tls = try makeTLS(
                tls, directory: (path as NSString).deletingLastPathComponent, fail: fail,
                string: { try string(tls, $0, "tls_server_config") })
        }
        return config
    }

    private static func makeTLS(
        _ tls: [String: Any], directory: String, fail: (String, String) -> Problem,
        string given: (String) throws -> String?
    ) throws -> NIOSSLContext {
        let known = [
            "cert_file", "key_file", "cert", "key", "client_auth_type", "client_ca_file", "client_ca", "min_version",
            "max_version", "prefer_server_cipher_suites",
        ]
        for key in tls.keys where !known.contains(key) {
            let why =
                ["cipher_suites", "curve_preferences"].contains(key)
                ? "not supported: BoringSSL's defaults apply (set min_version: TLS13 to restrict further)"
                : "unknown key"
            throw fail("tls_server_config.\(key)", why)
        }
        let section = "tls_server_config"
        // As the exporters do: relative file names are relative to the configuration file.
        func string(_ name: String) throws -> String? {
            guard let value = try given(name) else { return nil }
            guard name.hasSuffix("_file"), !value.hasPrefix("/") else { return value }
            return (directory as NSString).appendingPathComponent(value)
        }
        for (file, inline) in [("cert_file", "cert"), ("key_file", "key"), ("client_ca_file", "client_ca")]
        where tls[file] != nil && tls[inline] != nil {
            throw fail("\(section).\(file)", "give \(file) or \(inline), not both")
        }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            if let file = try string("cert_file") {
                chain = try NIOSSLCertificate.fromPEMFile(file)
            } else if let pem = try string("cert") {
                chain = try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8))
            } else {
                throw fail(section, "cert_file (or cert) is required")
            }
        } catch let problem as Problem {
            throw problem
        } catch {
            throw fail("\(section).cert_file", "no PEM certificate could be read: \(error)")
        }
        guard !chain.isEmpty else { throw fail("\(section).cert_file", "no certificate in it") }
        do {
            if let file = try string("key_file") {
                key = try NIOSSLPrivateKey(file: file, format: .pem)
            } else if let pem = try string("key") {
                key = try NIOSSLPrivateKey(bytes: Array(pem.utf8), format: .pem)
            } else {
                throw fail(section, "key_file (or key) is required")
            }
        } catch let problem as Problem {
            throw problem
        } catch {
            throw fail("\(section).key_file", "no PEM private key could be read: \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        func version(_ name: String) throws -> TLSVersion? {
            guard let text = try string(name) else { return nil }
            switch text {
            case "TLS10": return .tlsv1
            case "TLS11": return .tlsv11
            case "TLS12": return .tlsv12
            case "TLS13": return .tlsv13
            default: throw fail("\(section).\(name)", "\"\(text)\" is not one of TLS10, TLS11, TLS12, TLS13")
            }
        }
        // TLS 1.2 unless said otherwise, as the exporters do.
        configuration.minimumTLSVersion = try version("min_version") ?? .tlsv12
        configuration.maximumTLSVersion = try version("max_version")
        let order: [TLSVersion] = [.tlsv1, .tlsv11, .tlsv12, .tlsv13]
        if let maximum = configuration.maximumTLSVersion,
            order.firstIndex(of: maximum)! < order.firstIndex(of: configuration.minimumTLSVersion)!
        {
            throw fail("\(section).max_version", "is below min_version")
        }
        // An evicted or closing connection gives its descriptor back within a second, not the
        // default five, when the peer does not answer close_notify.
        configuration.shutdownTimeout = .seconds(1)
        let roots: NIOSSLTrustRoots?
        if let file = try string("client_ca_file") {
            roots = .file(file)
        } else if let pem = try string("client_ca") {
            do {
                roots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)))
            } catch {
                throw fail("\(section).client_ca", "no PEM certificate could be read: \(error)")
            }
        } else {
            roots = nil
        }
        let authType = try string("client_auth_type") ?? "NoClientCert"
        switch authType {
        case "NoClientCert":
            configuration.certificateVerification = .none
        case "VerifyClientCertIfGiven", "RequireAndVerifyClientCert":
            guard let roots else {
                throw fail("\(section).client_ca_file", "\(authType) needs the CAs to verify clients with")
            }
            configuration.trustRoots = roots
            configuration.sendCANameList = true
            // A client certificate names a client, not this host: no hostname check.
            configuration.certificateVerification =
                authType == "RequireAndVerifyClientCert" ? .noHostnameVerification : .optionalVerification
        case "RequestClientCert", "RequireAnyClientCert":
            throw fail(
                "\(section).client_auth_type",
                "\(authType) (a certificate taken without verifying it) is not supported; use VerifyClientCertIfGiven or RequireAndVerifyClientCert"
            )
        default:
            throw fail(
                "\(section).client_auth_type",
                "\"\(authType)\" is not one of NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert")
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw fail(section, "the certificate and key do not make a TLS context: \(error)")
        }
    }
}
