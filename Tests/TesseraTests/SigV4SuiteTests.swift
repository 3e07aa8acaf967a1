import Foundation
import Testing
@testable import TesseraAWS
import TesseraHTTP
import TesseraSupport

/// The official SigV4 test suite (aws-c-auth, Apache-2.0), copied to Tests/Fixtures/sigv4.
struct SigV4SuiteTests {
    static let cases: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Fixtures.url("sigv4").path)) ?? []
        return names.filter { !$0.hasSuffix(".md") }.sorted()
    }()

    @Test func suiteHasAll38Cases() {
        #expect(Self.cases.count == 38)
    }

    @Test(arguments: cases)
    func headerVariant(_ name: String) throws {
        let vector = try SuiteCase(name)
        var request = vector.request
        let artifacts = vector.signer.signHeaders(&request, payload: .of(vector.body), date: vector.date,
                                                  addContentSHA256Header: vector.signBody)
        #expect(artifacts.canonicalRequest == (try vector.file("header-canonical-request.txt")))
        #expect(artifacts.stringToSign == (try vector.file("header-string-to-sign.txt")))
        #expect(artifacts.signature == (try vector.file("header-signature.txt")))
        let expected = try vector.file("header-signed-request.txt").split(separator: "\n")
            .first { $0.hasPrefix("Authorization:") }.map { String($0.dropFirst("Authorization:".count)) }
        #expect(request.headers["authorization"] == expected)
        if let token = vector.credentials.sessionToken {
            #expect(request.headers["x-amz-security-token"] == token)
        }
    }

    @Test(arguments: cases)
    func queryVariant(_ name: String) throws {
        let vector = try SuiteCase(name)
        var request = vector.request
        let artifacts = try vector.signer.presign(&request, expires: 3600, payload: .of(vector.body),
                                                  date: vector.date)
        #expect(artifacts.canonicalRequest == (try vector.file("query-canonical-request.txt")))
        #expect(artifacts.stringToSign == (try vector.file("query-string-to-sign.txt")))
        #expect(artifacts.signature == (try vector.file("query-signature.txt")))
        // The published request line orders the parameters differently; compare them as a set.
        let line = try vector.file("query-signed-request.txt").split(separator: "\n")[0]
        let target = line.split(separator: " ").dropFirst().dropLast().joined(separator: " ")
        let expected = Set(target.split(separator: "?", maxSplits: 1).last!.split(separator: "&").map {
            PercentEncoding.decode(String($0))
        })
        let produced = Set(request.query.map { "\($0.name)=\($0.value)" })
        #expect(produced == expected)
    }
}

/// One folder of the suite, parsed.
struct SuiteCase {
    let folder: String
    let request: SignableRequest
    let body: [UInt8]
    let signer: SigV4Signer
    let credentials: Credentials
    let signBody: Bool
    let date = AmzDate(epochSeconds: 1_440_938_160)  // 2015-08-30T12:36:00Z, every case's timestamp

    init(_ folder: String) throws {
        self.folder = folder
        let context = try JSONSerialization.jsonObject(with: Data(Fixtures.bytes("sigv4/\(folder)/context.json")))
            as! [String: Any]
        let creds = context["credentials"] as! [String: String]
        credentials = Credentials(accessKeyId: creds["access_key_id"]!, secretAccessKey: creds["secret_access_key"]!,
                                  sessionToken: creds["token"])
        signBody = context["sign_body"] as? Bool ?? false
        let normalize = context["normalize"] as? Bool ?? true
        signer = SigV4Signer(credentials: credentials, region: context["region"] as! String,
                             service: context["service"] as! String, pathRule: .standard(normalize: normalize),
                             signSessionToken: !(context["omit_session_token"] as? Bool ?? false))

        let raw = try Fixtures.text("sigv4/\(folder)/request.txt")
        let (head, bodyText) = raw.split(separator: "\n\n", maxSplits: 1).map(String.init).pairOrSingle
        body = Array((bodyText ?? "").utf8)
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let requestLine = lines.removeFirst()
        let method = String(requestLine.prefix { $0 != " " })
        let target = String(requestLine.dropFirst(method.count + 1).dropLast(" HTTP/1.1".count))
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let query: [(name: String, value: String)] = parts.count > 1 ? parts[1].split(separator: "&").map { pair in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (name: PercentEncoding.decode(String(kv[0])), value: kv.count > 1 ? PercentEncoding.decode(String(kv[1])) : "")
        } : []
        var headers = HTTPHeaders()
        var pending: (String, String)?
        for line in lines where !line.isEmpty {
            if line.first == " " || line.first == "\t", let current = pending {
                pending = (current.0, current.1 + "\n" + line)  // a continuation line
                continue
            }
            if let current = pending { headers.add(current.0, current.1) }
            let colon = line.firstIndex(of: ":")!
            pending = (String(line[..<colon]), String(line[line.index(after: colon)...]))
        }
        if let current = pending { headers.add(current.0, current.1) }
        let host = headers["host"]!
        request = SignableRequest(method: method, host: host, path: String(parts[0]), query: query, headers: headers)
    }

    func file(_ name: String) throws -> String {
        try Fixtures.text("sigv4/\(folder)/\(name)")
    }
}

private extension Array where Element == String {
    var pairOrSingle: (String, String?) { (self[0], count > 1 ? self[1] : nil) }
}
