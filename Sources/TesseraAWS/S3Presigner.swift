import TesseraHTTP
import TesseraSupport

/// Presigned S3 requests: URLs a browser or device uses without credentials, valid for a while.
///
/// Pure computation: no call leaves the process, so handing one out costs microseconds.
public struct S3Presigner: Sendable {
    public let config: AWSConfig

    public init(config: AWSConfig) { self.config = config }

    /// A form upload: POST every field in order, the file last under the name `file`.
    public struct PostForm: Sendable, Equatable {
        public let url: String
        public let fields: [Field]
        public let expiresAt: String

        public struct Field: Sendable, Equatable {
            public let name: String
            public let value: String
        }
    }

    /// A presigned PUT: send it with exactly these headers.
    public struct PutRequest: Sendable, Equatable {
        public let url: String
        public let headers: [PostForm.Field]
        public let expiresAt: String
    }

    /// A GET of the object valid for `expires` seconds.
    /// `responseHeaders` are S3's `response-*` overrides (`response-content-type`, ...), signed with the
    /// URL: what the browser is told the file is, whatever metadata the object was stored with.
    public func getURL(bucket: String, key: String, expires: Int, responseHeaders: [(String, String)] = [],
                       date: AmzDate = .now()) throws -> String {
        var request = objectRequest("GET", bucket, key)
        request.query = responseHeaders.map { (name: $0.0, value: $0.1) }
        try signer.presign(&request, expires: expires, date: date)
        return request.url
    }

    /// A PUT of the object with this content type and user metadata (`x-amz-meta-<name>`); S3 checks
    /// every signed header, so the uploader must send them as given.
    /// With `contentLength`, that exact size is signed too, so the URL cannot carry a larger body.
    public func putRequest(bucket: String, key: String, contentType: String, contentLength: Int? = nil,
                           metadata: [(String, String)] = [], expires: Int, date: AmzDate = .now()) throws -> PutRequest {
        var request = objectRequest("PUT", bucket, key)
        let headers = [("Content-Type", contentType)] + (contentLength.map { [("Content-Length", String($0))] } ?? [])
            + metadata.map { ("x-amz-meta-" + $0.0, $0.1) }
        for (name, value) in headers { request.headers.set(name, value) }
        try signer.presign(&request, expires: expires, date: date)
        return PutRequest(url: request.url, headers: headers.map { .init(name: $0.0, value: $0.1) },
                          expiresAt: Self.expiry(date, expires))
    }

    /// A browser POST form whose policy pins the bucket, the key, the content type, the user metadata
    /// (`x-amz-meta-<name>`) and the size range.
    public func postForm(bucket: String, key: String, contentType: String, metadata: [(String, String)] = [],
                         bytes: ClosedRange<Int>, expires: Int, date: AmzDate = .now()) throws -> PostForm {
        guard (1...604_800).contains(expires) else { throw SigV4Error.invalidExpiry(expires) }
        let signer = self.signer
        var fields: [(String, String)] = [("key", key), ("Content-Type", contentType)]
            + metadata.map { ("x-amz-meta-" + $0.0, $0.1) } + [
            ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
            ("x-amz-credential", signer.credentialScope(date)), ("x-amz-date", date.timestamp),
        ]
        if let token = config.credentials.sessionToken { fields.append(("x-amz-security-token", token)) }
        let policy = S3PostPolicy(expiration: Self.expiry(date, expires), conditions:
            [.equals("bucket", bucket)] + fields.map { .equals($0.0, $0.1) }
            + [.contentLengthRange(bytes.lowerBound, bytes.upperBound)])
        let signed = S3PostPolicy.sign(document: Array(policy.document.utf8), signer: signer, date: date)
        fields += [("policy", signed.policy), ("x-amz-signature", signed.signature)]
        // The form goes to the bucket itself: `/bucket` path-style, `/` virtual-hosted.
        var bucketRequest = objectRequest("POST", bucket, "")
        if bucketRequest.path.count > 1, bucketRequest.path.hasSuffix("/") { bucketRequest.path.removeLast() }
        return PostForm(url: "\(bucketRequest.scheme)://\(bucketRequest.host)\(bucketRequest.path)",
                        fields: fields.map { .init(name: $0.0, value: $0.1) }, expiresAt: Self.expiry(date, expires))
    }

    /// `scheme://host` of the bucket's presigned URLs, for a page's Content-Security-Policy.
    public func origin(bucket: String) -> String {
        let request = objectRequest("GET", bucket, "")
        return "\(request.scheme)://\(request.host)"
    }

    var signer: SigV4Signer {
        SigV4Signer(credentials: config.credentials, region: config.region, service: "s3")
    }

    /// Addressed as `S3Client` addresses it: path-style for an overridden endpoint or a dotted bucket.
    func objectRequest(_ method: String, _ bucket: String, _ key: String) -> SignableRequest {
        let endpoint = config.endpoint(for: .s3)
        let encodedKey = PercentEncoding.encode(key, keepSlash: true)
        let pathStyle = endpoint.isOverride || bucket.contains(".")
        let path = pathStyle ? "/\(PercentEncoding.encode(bucket))/\(encodedKey)" : "/\(encodedKey)"
        return SignableRequest(method: method, scheme: endpoint.scheme, host: (pathStyle ? "" : bucket + ".") + endpoint.host,
                               path: endpoint.basePath + path)
    }

    static func expiry(_ date: AmzDate, _ seconds: Int) -> String {
        UTCTime(epochMilliseconds: (date.epochSeconds + seconds) * 1000).iso8601
    }
}
