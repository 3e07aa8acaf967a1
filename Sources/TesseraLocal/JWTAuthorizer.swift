import BigInt
import TesseraEvents
import TesseraHTTP
import TesseraSupport

/// API Gateway's JWT authorizer, for the local endpoint: the token from `Authorization` (with or
/// without `Bearer `), its RS256 signature checked against the issuer's JWKS, then `iss`, `exp`,
/// `nbf`, `iat` and `aud` (or `client_id`, as Cognito's access tokens carry it) as API Gateway checks
/// them. What passes becomes the event's `requestContext.authorizer.jwt.claims`.
public struct JWTAuthorizer: Sendable {
    public let issuer: String
    public let audiences: [String]
    /// The issuer's signing keys by `kid`.
    let keys: [String: RSAPublicKey]

    public init(issuer: String, audiences: [String], jwks: [UInt8]) throws {
        self.issuer = issuer
        self.audiences = audiences
        guard case let .object(document)? = try? StrictJSON.parse(jwks, subject: "JWKS"),
              case let .array(entries)? = document["keys"] else {
            throw LocalUpError("the issuer's JWKS is not a JSON object with a `keys` array")
        }
        var keys: [String: RSAPublicKey] = [:]
        for case let .object(entry) in entries {
            guard case .string("RSA")? = entry["kty"], case let .string(kid)? = entry["kid"],
                  case let .string(n)? = entry["n"], case let .string(e)? = entry["e"],
                  let modulus = Base64URL.decode(n), let exponent = Base64URL.decode(e) else { continue }
            keys[kid] = RSAPublicKey(modulus: modulus, exponent: exponent)
        }
        guard !keys.isEmpty else { throw LocalUpError("the issuer's JWKS holds no RSA key") }
        self.keys = keys
    }

    /// Fetches the JWKS from `url` (Cognito's `<issuer>/.well-known/jwks.json`; the emulator serves it
    /// under its own address).
    public static func fetching(issuer: String, audiences: [String], jwksURL: String) throws -> JWTAuthorizer {
        let response = try HTTPClient(options: .init(connectTimeoutMs: 2_000, timeoutMs: 10_000))
            .send(HTTPRequest(method: "GET", url: jwksURL))
        guard response.status == 200 else { throw LocalUpError("GET \(jwksURL) answered \(response.status)") }
        return try JWTAuthorizer(issuer: issuer, audiences: audiences, jwks: response.body)
    }

    /// Why a request was refused (API Gateway answers each with 401 and says no more).
    public struct Refusal: Error, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The token's claims when `authorization` carries a token this authorizer accepts at `now`
    /// (epoch seconds).
    public func claims(authorization: String?, now: Int) throws(Refusal) -> [String: JSONValue] {
        var token = authorization?.trimmingHTTPWhitespace() ?? ""
        if token.lowercased() == "bearer" || token.prefix(7).lowercased() == "bearer " {
            token = String(token.dropFirst(6)).trimmingHTTPWhitespace()
        }
        guard !token.isEmpty else { throw Refusal("no token in the Authorization header") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(parts[0]), let payloadBytes = Base64URL.decode(parts[1]),
              let signature = Base64URL.decode(parts[2]) else { throw Refusal("not a JWT (three base64url parts)") }
        guard case let .object(header)? = try? StrictJSON.parse(headerBytes, subject: "JWT header"),
              case let .object(claims)? = try? StrictJSON.parse(payloadBytes, subject: "JWT payload") else {
            throw Refusal("the token's header or payload is not a JSON object")
        }
        guard case .string("RS256")? = header["alg"] else { throw Refusal("alg must be RS256") }
        guard case let .string(kid)? = header["kid"], let key = keys[kid] else { throw Refusal("unknown kid") }
        guard key.verifiesSHA256(signature: signature, of: Array((parts[0] + "." + parts[1]).utf8)) else {
            throw Refusal("bad signature")
        }
        guard case .string(issuer)? = claims["iss"] else { throw Refusal("iss is not \(issuer)") }
        guard case let .integer(exp)? = claims["exp"], exp > now else { throw Refusal("expired, or no exp") }
        for name in ["nbf", "iat"] {
            if let value = claims[name] {
                guard case let .integer(time) = value, time <= now + 300 else { throw Refusal("\(name) is in the future") }
            }
        }
        var presented: [String] = []
        switch claims["aud"] {
        case let .string(audience)?: presented.append(audience)
        case let .array(list)?: for case let .string(audience) in list { presented.append(audience) }
        default: break
        }
        if presented.isEmpty, case let .string(client)? = claims["client_id"] { presented.append(client) }
        guard presented.contains(where: audiences.contains) else { throw Refusal("aud/client_id is none of the audiences") }
        return claims
    }
}

/// An RSA public key, for PKCS #1 v1.5 signature checks.
struct RSAPublicKey: Sendable {
    let modulus: BigUInt
    let exponent: BigUInt
    let size: Int

    init(modulus: [UInt8], exponent: [UInt8]) {
        self.modulus = modulus.withUnsafeBytes { BigUInt($0) }
        self.exponent = exponent.withUnsafeBytes { BigUInt($0) }
        size = (self.modulus.bitWidth + 7) / 8
    }

    /// DER of SHA-256's DigestInfo, before the 32-byte hash (RFC 8017 §9.2, note 1).
    static let sha256DigestInfo: [UInt8] = [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
                                            0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20]

    /// RSASSA-PKCS1-v1_5 with SHA-256: the signature raised to the exponent must be exactly the padded
    /// DigestInfo of the message's hash.
    func verifiesSHA256(signature: [UInt8], of message: [UInt8]) -> Bool {
        guard signature.count == size, size >= 62 else { return false }
        let s = signature.withUnsafeBytes { BigUInt($0) }
        guard s < modulus else { return false }
        var encoded = Array(s.power(exponent, modulus: modulus).serialize())
        encoded = [UInt8](repeating: 0, count: max(0, size - encoded.count)) + encoded
        let tail = Self.sha256DigestInfo + SHA256.hash(message)
        let expected = [0x00, 0x01] + [UInt8](repeating: 0xff, count: size - 3 - tail.count) + [0x00] + tail
        return encoded == expected
    }
}
