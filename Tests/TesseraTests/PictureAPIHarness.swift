import CZlib
import Foundation
import TesseraAWS
import TesseraEvents
import TesseraHTTP
import TesseraLocal
import TesseraSupport

/// The real picture-api binary behind a local Runtime API and the local HTTP API endpoint: DynamoDB on
/// the emulator that checks signatures, S3 (presigned URLs) on the one that cannot while checking.
final class PictureAPIHarness {
    let db: DynamoDBClient
    let openS3: S3Client
    let table = Emulator.uniqueName("pictures"), originals = Emulator.uniqueName("originals"),
        renditions = Emulator.uniqueName("renditions")
    let runtime: LocalRuntimeAPI
    let gateway: LocalAPIGateway
    let function: ChildProcess
    let http = HTTPClient()
    static let allowedOrigin = "https://photos.example"
    /// Two users of the emulator's user pool, signed in: each one's ID token and subject.
    let tokens: [String: (token: String, subject: String)]
    let gallery: Gallery

    init(extra: [String: String] = [:]) throws {
        let aws = try Emulator.client()
        let cognito = CognitoClient(aws: aws)
        let pool = try cognito.createUserPool(name: Emulator.uniqueName("users"))
        let client = try cognito.createUserPoolClient(poolId: pool, name: "page", authFlows: ["ALLOW_USER_PASSWORD_AUTH"])
        var tokens: [String: (String, String)] = [:]
        for user in ["ana", "ben"] {
            try cognito.createUser(poolId: pool, username: user, password: "Password-of-\(user)-1")
            let token = try cognito.signIn(clientId: client, username: user, password: "Password-of-\(user)-1").IdToken
            let payload = Base64URL.decode(token.split(separator: ".")[1]) ?? []
            let claims = try JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any]
            tokens[user] = (token, claims?["sub"] as? String ?? "")
        }
        self.tokens = tokens
        gallery = Gallery(rawValue: extra["GALLERY"] ?? "private") ?? .private
        let authorizer = try JWTAuthorizer.fetching(
            issuer: "https://cognito-idp.us-east-1.amazonaws.com/\(pool)", audiences: [client],
            jwksURL: "\(Emulator.variables["AWS_ENDPOINT_URL"]!)/\(pool)/.well-known/jwks.json")
        db = DynamoDBClient(aws: aws)
        openS3 = S3Client(aws: try Emulator.openClient())
        // As template.yaml declares it: with the `recent` index the landing's listings read.
        try db.createTable(.init(name: table, partitionKey: ("collection", "S"), sortKey: ("name", "S"), indexes: [
            .init(name: "recent", partitionKey: ("status", "S"), sortKey: ("processedAt", "S"))]))
        try openS3.createBucket(originals)
        try openS3.createBucket(renditions)
        var env = Emulator.variables
        env["AWS_ENDPOINT_URL_S3"] = Emulator.openVariables["AWS_ENDPOINT_URL"]
        env.merge(["ORIGINALS_BUCKET": originals, "RENDITIONS_BUCKET": renditions, "PICTURES_TABLE": table,
                   "ALLOWED_ORIGINS": "\(Self.allowedOrigin), http://localhost:3000", "MAX_UPLOAD_BYTES": "5000000",
                   "CURSOR_SECRET": "a test secret of enough length", "AWS_LAMBDA_LOG_FORMAT": "JSON"]) { _, new in new }
        env.merge(extra) { _, new in new }
        runtime = try LocalRuntimeAPI(functionARN: "arn:aws:lambda:us-east-1:123456789012:function:picture-api")
        env["AWS_LAMBDA_RUNTIME_API"] = runtime.endpoint
        function = try FunctionProcess.start("picture-api", environment: env)
        gateway = try LocalAPIGateway(runtime: runtime, access: .init(gallery: gallery, authorizer: authorizer))
    }

    func stop() {
        gateway.stop()
        function.terminate()
        runtime.stop()
    }

    /// A request to the API through the local endpoint, signed in as `user` (nil: no token).
    func call(_ method: String, _ target: String, body: String? = nil, headers: [(String, String)] = [],
              as user: String? = "ana") throws -> HTTPResponse {
        var fields = headers
        if let user, let token = tokens[user]?.token { fields.append(("Authorization", "Bearer " + token)) }
        return try http.send(HTTPRequest(method: method, url: "http://127.0.0.1:\(gateway.port)\(target)",
                                         headers: HTTPHeaders(fields), body: body.map { Array($0.utf8) } ?? []))
    }

    func json(_ response: HTTPResponse) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(response.body)) as! [String: Any]
    }

    /// Writes a pictures-table item as picture-processor would (processedAt: now, unless given).
    func putPicture(collection: String, name: String, renditions: [String: (Int, Int)] = ["thumb": (256, 192), "half": (800, 600)],
                    status: String = "ready", owner: String? = nil,
                    processedAt: String = UTCTime(epochMilliseconds: UTCTime.nowMilliseconds()).iso8601) throws {
        var map: [String: AttributeValue] = [:]
        for (rendition, size) in renditions {
            map[rendition] = .m(["key": .s("\(rendition)/\(collection)/\(name).jpg"), "width": .number(size.0),
                                 "height": .number(size.1), "bytes": .number(1000)])
        }
        try db.putItem(table: table, item: [
            "collection": .s(collection), "name": .s(name), "key": .s("\(collection)/\(name).jpg"), "bucket": .s(originals),
            "status": .s(status), "source": .s("upload"), "width": .number(1600), "height": .number(1200),
            "renditions": .m(map), "version": .s("00000001"), "notified": .bool(true), "reductionPercent": .n("46.5"),
            "processedAt": .s(processedAt),
        ].merging(owner.map { ["owner": .s($0)] } ?? [:]) { _, new in new })
    }
}

/// gzip's inverse, for checking compressed responses.
func gunzip(_ bytes: [UInt8]) -> [UInt8]? {
    var stream = z_stream()
    guard inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
    defer { inflateEnd(&stream) }
    var output: [UInt8] = []
    var input = bytes
    var chunk = [UInt8](repeating: 0, count: 65_536)
    var status: Int32 = Z_OK
    input.withUnsafeMutableBufferPointer { source in
        stream.next_in = source.baseAddress
        stream.avail_in = uInt(source.count)
        repeat {
            chunk.withUnsafeMutableBufferPointer { target in
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(target.count)
                status = inflate(&stream, Z_NO_FLUSH)
                output += target[0..<(target.count - Int(stream.avail_out))]
            }
        } while status == Z_OK
    }
    return status == Z_STREAM_END ? output : nil
}
