import TesseraHTTP
import TesseraSupport

/// The AWS services Tessera calls, with what signing and endpoint resolution need of each.
public enum AWSService: String, Sendable, CaseIterable {
    case dynamodb, s3, sns, sqs
    /// Amazon Cognito user pools: only the local stack and tests call it (the user pool the template makes).
    case cognitoIdentityProvider = "cognito-idp"

    /// The SigV4 service name.
    public var signingName: String { rawValue }

    /// Its `AWS_ENDPOINT_URL_<SERVICE>` variable (the SDKs' service id, upper case, `_` for spaces).
    public var endpointVariable: String {
        "AWS_ENDPOINT_URL_" + (self == .cognitoIdentityProvider ? "COGNITO_IDENTITY_PROVIDER" : rawValue.fastUppercased())
    }

    public func defaultEndpoint(region: String) -> String {
        "https://\(rawValue).\(region).amazonaws.com"
    }
}

/// A parsed service endpoint: `scheme://host[:port][/base]`.
public struct Endpoint: Sendable, Equatable {
    public let scheme: String
    /// Host with `:port` when one was given.
    public let host: String
    /// Path prefix without a trailing slash ("" for none).
    public let basePath: String
    /// Whether it came from an override (then S3 uses path-style addressing).
    public let isOverride: Bool

    /// Parses an endpoint URL; nil when it is not `http(s)://host[:port][/path]`.
    public init?(_ url: String, isOverride: Bool) {
        guard let separator = url.rangeOfFirst("://") else { return nil }
        let scheme = String(url[..<separator.lowerBound]).fastLowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        let rest = url[separator.upperBound...]
        let hostEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let host = String(rest[..<hostEnd])
        guard !host.isEmpty, !host.contains("@"), !host.contains(" ") else { return nil }
        var path = String(rest[hostEnd...].prefix { $0 != "?" && $0 != "#" })
        while path.hasSuffix("/") { path.removeLast() }
        self.scheme = scheme
        self.host = host
        basePath = path
        self.isOverride = isOverride
    }
}
