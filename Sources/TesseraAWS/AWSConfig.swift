import TesseraHTTP
import TesseraSupport

/// Region, credentials and endpoints, from the variables Lambda (or `tessera local`) sets.
public struct AWSConfig: Sendable {
    public var region: String
    public var credentials: Credentials
    public var endpoints: [AWSService: Endpoint]

    public init(region: String, credentials: Credentials, endpoints: [AWSService: Endpoint] = [:]) {
        self.region = region
        self.credentials = credentials
        self.endpoints = endpoints
    }

    /// Reads `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, and the
    /// endpoint overrides `AWS_ENDPOINT_URL_<SERVICE>` (first) and `AWS_ENDPOINT_URL`.
    public static func fromEnvironment(_ env: Environment) throws -> AWSConfig {
        let region = try env["AWS_REGION"] ?? env["AWS_DEFAULT_REGION"] ?? env.required("AWS_REGION")
        let credentials = Credentials(accessKeyId: try env.required("AWS_ACCESS_KEY_ID"),
                                      secretAccessKey: try env.required("AWS_SECRET_ACCESS_KEY"),
                                      sessionToken: env["AWS_SESSION_TOKEN"])
        var endpoints: [AWSService: Endpoint] = [:]
        for service in AWSService.allCases {
            let variable = env[service.endpointVariable] != nil ? service.endpointVariable : "AWS_ENDPOINT_URL"
            if let url = env[variable] {
                guard let endpoint = Endpoint(url, isOverride: true) else {
                    throw ConfigurationError(variable: variable,
                                             problem: "must be an http:// or https:// URL, got \"\(url)\"")
                }
                endpoints[service] = endpoint
            } else {
                endpoints[service] = Endpoint(service.defaultEndpoint(region: region), isOverride: false)
            }
        }
        return AWSConfig(region: region, credentials: credentials, endpoints: endpoints)
    }

    public func endpoint(for service: AWSService) -> Endpoint {
        endpoints[service] ?? Endpoint(service.defaultEndpoint(region: region), isOverride: false)!
    }
}
