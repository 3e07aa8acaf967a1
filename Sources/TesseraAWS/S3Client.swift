import TesseraHTTP
import TesseraSupport

/// Amazon S3 over its REST API, signed and retried by `AWSClient`: the object calls the functions make.
///
/// Keys are encoded once, as SigV4's S3 rule signs them (every byte outside `A-Za-z0-9-_.~/`), so any
/// key a user can create works: spaces, `+`, `%`, unicode, `//`.
public struct S3Client {
    package let aws: AWSClient

    public init(aws: AWSClient) { self.aws = aws }

    /// An object's bytes and what S3 says of them.
    public struct Object: Sendable {
        public let bytes: [UInt8]
        public let head: ObjectHead
    }

    /// What HeadObject (and GetObject's headers) say of an object.
    public struct ObjectHead: Sendable, Equatable {
        public let size: Int
        /// Without the quotes S3 puts around it.
        public let etag: String
        public let contentType: String?
        /// `x-amz-meta-*` values by their lower-case name (without the prefix).
        public let metadata: [String: String]
        /// The version this is, in a versioned bucket (`x-amz-version-id`; nil otherwise, or "null").
        public var versionId: String? = nil
    }

    /// How an upload asks S3 to verify what it received.
    public enum Checksum: Sendable {
        /// `x-amz-checksum-sha256`: S3 refuses the upload when the bytes do not match.
        case sha256
        case none
    }

    /// The object's bytes; a body over `maxBytes` stops the download with `AWS.ResponseTooLarge`.
    /// `versionId`: that version of it (an event's), not whatever is newest; `ifMatch`: only if the
    /// newest has this ETag (S3 answers 412 `PreconditionFailed` otherwise).
    public func getObject(bucket: String, key: String, versionId: String? = nil, ifMatch: String? = nil,
                          maxBytes: Int) throws -> Object {
        var get = request("GetObject", "GET", bucket, key, maxResponseBytes: maxBytes)
        if let versionId { get.query = [("versionId", versionId)] }
        if let ifMatch { get.headers.set("If-Match", "\"\(ifMatch)\"") }
        let response = try aws.send(get)
        return Object(bytes: response.body, head: Self.head(response.headers, size: response.body.count))
    }

    /// What S3 says of the object, or nil when there is none (404).
    public func headObject(bucket: String, key: String, versionId: String? = nil) throws -> ObjectHead? {
        do {
            var head = request("HeadObject", "HEAD", bucket, key)
            if let versionId { head.query = [("versionId", versionId)] }
            let response = try aws.send(head)
            return Self.head(response.headers, size: response.headers["content-length"].flatMap { Int($0) } ?? 0)
        } catch let AWSError.service(error) where error.status == 404 {
            return nil
        }
    }

    /// Writes the object; returns its ETag. `ifAbsent`: only when the key holds no object; `ifMatch`: only
    /// while the object there has this ETag (S3 answers 412 `PreconditionFailed` otherwise, or 409
    /// `ConditionalRequestConflict` to a concurrent write).
    @discardableResult
    public func putObject(bucket: String, key: String, body: [UInt8], contentType: String,
                          cacheControl: String? = nil, metadata: [String: String] = [:],
                          checksum: Checksum = .sha256, ifAbsent: Bool = false, ifMatch: String? = nil) throws -> String {
        var headers = HTTPHeaders([("Content-Type", contentType)])
        if ifAbsent { headers.add("If-None-Match", "*") }
        if let ifMatch { headers.add("If-Match", ifMatch.hasPrefix("\"") ? ifMatch : "\"\(ifMatch)\"") }
        if let cacheControl { headers.add("Cache-Control", cacheControl) }
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) {
            // S3 carries user metadata in headers: printable ASCII only.
            guard Self.isHeaderSafe(name), !name.isEmpty, Self.isHeaderSafe(value) else {
                throw AWSError.invalidRequest(service: .s3, operation: "PutObject", reason:
                    "metadata \(name)=\(value.prefix(40)) is not printable ASCII, which S3 headers require")
            }
            headers.add("x-amz-meta-" + name.asciiLowercased, value)
        }
        let digest = SHA256.hash(body)
        if case .sha256 = checksum { headers.add("x-amz-checksum-sha256", StrictBase64.encode(digest)) }
        var put = request("PutObject", "PUT", bucket, key)
        put.headers = headers
        put.body = body
        put.bodySHA256 = digest
        let response = try aws.send(put)
        return Self.unquoted(response.headers["etag"] ?? "")
    }

    /// Deletes the object (or, with `versionId`, that version of it, so the one before it is current
    /// again in a versioned bucket); deleting one that is not there succeeds, as in S3.
    public func deleteObject(bucket: String, key: String, versionId: String? = nil) throws {
        var delete = request("DeleteObject", "DELETE", bucket, key)
        if let versionId { delete.query = [("versionId", versionId)] }
        _ = try aws.send(delete)
    }

    /// The request for one object: path-style when the endpoint is overridden (and for bucket names
    /// with dots, which TLS wildcard certificates do not cover), virtual-hosted otherwise.
    func request(_ operation: String, _ method: String, _ bucket: String, _ key: String,
                 maxResponseBytes: Int? = nil) -> AWSRequest {
        let encodedKey = PercentEncoding.encode(key, keepSlash: true)
        let pathStyle = aws.config.endpoint(for: .s3).isOverride || bucket.contains(".")
        return AWSRequest(service: .s3, operation: operation, method: method,
                          path: pathStyle ? "/\(PercentEncoding.encode(bucket))/\(encodedKey)" : "/\(encodedKey)",
                          hostPrefix: pathStyle ? "" : bucket + ".", maxResponseBytes: maxResponseBytes)
    }

    static func head(_ headers: HTTPHeaders, size: Int) -> ObjectHead {
        var metadata: [String: String] = [:]
        for field in headers where field.name.asciiLowercased.hasPrefix("x-amz-meta-") {
            metadata[String(field.name.asciiLowercased.dropFirst("x-amz-meta-".count))] = field.value
        }
        let version = headers["x-amz-version-id"]
        return ObjectHead(size: size, etag: unquoted(headers["etag"] ?? ""), contentType: headers["content-type"],
                          metadata: metadata, versionId: version == "null" || version?.isEmpty == true ? nil : version)
    }

    static func unquoted(_ etag: String) -> String {
        etag.count >= 2 && etag.hasPrefix("\"") && etag.hasSuffix("\"") ? String(etag.dropFirst().dropLast()) : etag
    }

    static func isHeaderSafe(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    }
}
