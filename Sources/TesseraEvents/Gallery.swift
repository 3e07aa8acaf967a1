/// How open the pictures API is (the template's `Gallery` parameter, picture-api's `GALLERY`): which
/// routes API Gateway's JWT authorizer guards, and what a caller may read (DESIGN.md "Who may do what").
public enum Gallery: String, Sendable, CaseIterable {
    /// The default: every route but the page needs a token; a caller lists and downloads its own
    /// pictures and the devices' (and those dropped straight into the bucket), never another user's.
    case `private`
    /// Anyone lists and downloads every picture; uploads need a token.
    case publicRead = "public-read"
    /// Anyone lists, downloads and uploads. No route checks a token (API Gateway runs no authorizer on
    /// an open route), so every upload is anonymous: they share the owner `anonymous` and can replace
    /// each other's pictures, never a signed-in user's (from an earlier private gallery) or a device's.
    case `public`

    /// Whether the route needs a verified token: what the template's authorizer guards.
    public func requiresToken(method: String, path: String) -> Bool {
        if path == "/" || method == "OPTIONS" { return false }
        switch self {
        case .private: return true
        case .publicRead: return path == "/uploads"
        case .public: return false
        }
    }
}

/// Who wrote a picture, as the pictures table's `owner` and the object's `x-amz-meta-owner` record it.
public enum Owner {
    /// A signed-in user: the token's subject.
    public static func user(_ subject: String) -> String { "user:" + subject }
    /// A device: its thing name, which IoT Core checked at the connection.
    public static func device(_ thing: String) -> String { "device:" + thing }
    /// Uploads without a token (the `public` gallery only).
    public static let anonymous = "anonymous"
    /// Objects written straight into the bucket by the account's own principals.
    public static let bucket = "s3"

    /// Whether a caller (nil: no token) may read a picture of `owner` in this gallery.
    public static func canRead(_ owner: String?, caller: String?, gallery: Gallery) -> Bool {
        guard gallery == .private else { return true }
        guard let caller else { return false }
        guard let owner else { return true }  // recorded before owners were: the account's
        return owner == caller || owner.hasPrefix("device:") || owner == bucket
    }
}
