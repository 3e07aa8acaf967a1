import TesseraAWS
import TesseraSupport

/// Amazon Cognito user pools, as the local stack and the tests need them: what CloudFormation makes
/// of the template's user pool and app client, a user with a password, and a sign-in as the page does it.
public struct CognitoClient {
    let aws: AWSClient

    public init(aws: AWSClient) { self.aws = aws }

    func call<Output: Decodable>(_ operation: String, _ input: some Encodable, _ output: Output.Type) throws -> Output {
        try aws.callJSON(.cognitoIdentityProvider, target: "AWSCognitoIdentityProviderService", operation: operation,
                         input: input, as: output, jsonVersion: "1.1")
    }

    /// The id of the user pool of that name, if there is one (a second `up` reuses the first one's).
    public func userPoolId(named name: String) throws -> String? {
        struct Input: Encodable { let MaxResults: Int, NextToken: String? }
        struct Pool: Decodable { let Id: String, Name: String }
        struct Output: Decodable { let UserPools: [Pool]?, NextToken: String? }
        var token: String?
        repeat {
            let page = try call("ListUserPools", Input(MaxResults: 60, NextToken: token), Output.self)
            if let pool = page.UserPools?.first(where: { $0.Name == name }) { return pool.Id }
            token = page.NextToken
        } while token != nil
        return nil
    }

    /// The id of the pool's app client of that name, if there is one.
    public func clientId(poolId: String, named name: String) throws -> String? {
        struct Input: Encodable { let UserPoolId: String, MaxResults: Int, NextToken: String? }
        struct Client: Decodable { let ClientId: String, ClientName: String }
        struct Output: Decodable { let UserPoolClients: [Client]?, NextToken: String? }
        var token: String?
        repeat {
            let page = try call("ListUserPoolClients", Input(UserPoolId: poolId, MaxResults: 60, NextToken: token), Output.self)
            if let client = page.UserPoolClients?.first(where: { $0.ClientName == name }) { return client.ClientId }
            token = page.NextToken
        } while token != nil
        return nil
    }

    /// Creates a user pool; returns its id (`Ref` of `AWS::Cognito::UserPool`).
    public func createUserPool(name: String) throws -> String {
        struct Input: Encodable { let PoolName: String }
        struct Pool: Decodable { let Id: String }
        struct Output: Decodable { let UserPool: Pool }
        return try call("CreateUserPool", Input(PoolName: name), Output.self).UserPool.Id
    }

    /// Creates an app client without a secret (a page can hold no secret); returns its id.
    public func createUserPoolClient(poolId: String, name: String, authFlows: [String]) throws -> String {
        struct Input: Encodable { let UserPoolId: String, ClientName: String, GenerateSecret: Bool, ExplicitAuthFlows: [String] }
        struct Client: Decodable { let ClientId: String }
        struct Output: Decodable { let UserPoolClient: Client }
        return try call("CreateUserPoolClient", Input(UserPoolId: poolId, ClientName: name, GenerateSecret: false,
                                                      ExplicitAuthFlows: authFlows), Output.self).UserPoolClient.ClientId
    }

    /// Creates a user with a permanent password (no first-sign-in challenge).
    public func createUser(poolId: String, username: String, password: String) throws {
        struct Create: Encodable { let UserPoolId: String, Username: String, MessageAction: String }
        struct SetPassword: Encodable { let UserPoolId: String, Username: String, Password: String, Permanent: Bool }
        _ = try call("AdminCreateUser", Create(UserPoolId: poolId, Username: username, MessageAction: "SUPPRESS"), EmptyOutput.self)
        _ = try call("AdminSetUserPassword", SetPassword(UserPoolId: poolId, Username: username, Password: password, Permanent: true),
                     EmptyOutput.self)
    }

    /// The tokens a password sign-in gives (`USER_PASSWORD_AUTH`, what the page does).
    public struct Tokens: Sendable, Decodable {
        public let IdToken: String
        public let AccessToken: String
        public let ExpiresIn: Int
    }

    public func signIn(clientId: String, username: String, password: String) throws -> Tokens {
        struct Input: Encodable { let AuthFlow: String, ClientId: String, AuthParameters: [String: String] }
        struct Output: Decodable { let AuthenticationResult: Tokens }
        return try call("InitiateAuth", Input(AuthFlow: "USER_PASSWORD_AUTH", ClientId: clientId,
                                              AuthParameters: ["USERNAME": username, "PASSWORD": password]),
                        Output.self).AuthenticationResult
    }
}
