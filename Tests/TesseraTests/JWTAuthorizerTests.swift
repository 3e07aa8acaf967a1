import Foundation
import Testing
import TesseraAWS
import TesseraLocal
import TesseraSupport

/// The local endpoint's JWT authorizer against the emulator's user pool: real tokens from a real
/// sign-in, and hostile ones minted with the pool's own signing key (the emulator ships it) or none.
@Suite(.serialized) struct JWTAuthorizerTests {
    struct Pool {
        let id: String, client: String, issuer: String, authorizer: JWTAuthorizer
    }

    static func pool() throws -> Pool {
        let cognito = CognitoClient(aws: try Emulator.client())
        let id = try cognito.createUserPool(name: Emulator.uniqueName("pool"))
        let client = try cognito.createUserPoolClient(poolId: id, name: "page", authFlows: ["ALLOW_USER_PASSWORD_AUTH"])
        try cognito.createUser(poolId: id, username: "ana", password: "Correct-horse-9")
        let issuer = "https://cognito-idp.\(Emulator.variables["AWS_REGION"] ?? "us-east-1").amazonaws.com/\(id)"
        let authorizer = try JWTAuthorizer.fetching(issuer: issuer, audiences: [client],
                                                    jwksURL: "\(Emulator.variables["AWS_ENDPOINT_URL"]!)/\(id)/.well-known/jwks.json")
        return Pool(id: id, client: client, issuer: issuer, authorizer: authorizer)
    }

    /// A token signed with the emulator's own private key (or as `alg` says), with these claims.
    static func mint(_ claims: [String: Any], alg: String = "RS256", kid: String = "dummy") throws -> String {
        let script = """
        import gzip, json, sys, importlib.resources as r
        from joserfc import jwt, jwk
        claims, alg, kid = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
        private = json.loads(gzip.decompress((r.files("moto.cognitoidp") / "resources" / "jwks-private.json.gz").read_bytes()))
        key = jwk.import_key(private) if alg == "RS256" else jwk.import_key("secret-of-32-bytes-or-more-here!", "oct")
        print(jwt.encode({"alg": alg, "kid": kid}, claims, key, algorithms=[alg]))
        """
        let json = String(decoding: try JSONSerialization.data(withJSONObject: claims), as: UTF8.self)
        let python = LocalTemplateTests.root.appendingPathComponent(".venv/bin/python").path
        let dir = FileManager.default.temporaryDirectory
        let run = try ELFCheckTests.run([python, "-c", script, json, alg, kid], in: dir)
        try #require(run.status == 0, "\(run)")
        return run.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let now = Int(Date().timeIntervalSince1970)

    @Test func aRealSignInIsAcceptedWithItsClaims() throws {
        let pool = try Self.pool()
        let tokens = try CognitoClient(aws: try Emulator.client()).signIn(clientId: pool.client, username: "ana", password: "Correct-horse-9")
        for token in [tokens.IdToken, tokens.AccessToken] {
            for header in ["Bearer " + token, "bearer " + token, token] {
                let claims = try pool.authorizer.claims(authorization: header, now: Self.now)
                guard case let .string(sub)? = claims["sub"] else { Issue.record("no sub in \(claims)"); continue }
                #expect(!sub.isEmpty)
                #expect(claims["iss"] == .string(pool.issuer))
            }
        }
        // A wrong password gets no token at all.
        #expect(throws: AWSError.self) {
            try CognitoClient(aws: try Emulator.client()).signIn(clientId: pool.client, username: "ana", password: "wrong")
        }
    }

    @Test func hostileTokensAreRefusedEachForItsReason() throws {
        let pool = try Self.pool()
        let good: [String: Any] = ["iss": pool.issuer, "aud": pool.client, "sub": "s-1", "exp": Self.now + 600, "iat": Self.now]
        func with(_ change: [String: Any?]) -> [String: Any] {
            var claims = good
            for (key, value) in change { claims[key] = value }
            return claims
        }
        #expect(try pool.authorizer.claims(authorization: "Bearer " + Self.mint(good), now: Self.now)["sub"] == .string("s-1"))
        let access = with(["aud": nil, "client_id": pool.client])
        #expect(try pool.authorizer.claims(authorization: Self.mint(access), now: Self.now)["sub"] == .string("s-1"))

        let cases: [(String, String)] = [
            (try Self.mint(with(["exp": Self.now - 1])), "expired"),
            (try Self.mint(with(["exp": nil])), "expired, or no exp"),
            (try Self.mint(with(["exp": "\(Self.now + 600)"])), "expired, or no exp"),
            (try Self.mint(with(["iss": "https://cognito-idp.us-east-1.amazonaws.com/someone-elses-pool"])), "iss is not"),
            (try Self.mint(with(["aud": "another-client"])), "aud/client_id is none of the audiences"),
            (try Self.mint(with(["aud": nil])), "aud/client_id is none of the audiences"),
            (try Self.mint(with(["nbf": Self.now + 3600])), "nbf is in the future"),
            (try Self.mint(good, kid: "other"), "unknown kid"),
            (try Self.mint(good, alg: "HS256"), "alg must be RS256"),
            ("", "no token in the Authorization header"),
            ("Bearer ", "no token in the Authorization header"),
            ("Bearer a.b", "not a JWT"),
            ("Bearer !!.??.**", "not a JWT"),
        ]
        for (token, reason) in cases {
            #expect {
                try pool.authorizer.claims(authorization: token, now: Self.now)
            } throws: { error in
                "\(error)".contains(reason)
            }
        }
        // A real signature over other claims, and the same claims unsigned (alg none).
        let parts = try Self.mint(good).split(separator: ".").map(String.init)
        let forged = Base64URL.encode(Array(#"{"iss":"\#(pool.issuer)","aud":"\#(pool.client)","sub":"admin","exp":\#(Self.now + 600)}"#.utf8))
        let unsigned = Base64URL.encode(Array(#"{"alg":"none","kid":"dummy"}"#.utf8))
        for (token, reason) in [(parts[0] + "." + forged + "." + parts[2], "bad signature"), (unsigned + "." + parts[1] + ".", "alg must be RS256")] {
            #expect {
                try pool.authorizer.claims(authorization: token, now: Self.now)
            } throws: { error in
                "\(error)".contains(reason)
            }
        }
    }
}
