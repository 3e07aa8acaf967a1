import TesseraAWS
import TesseraEvents
import TesseraRuntime
import TesseraSupport

/// picture-api's Lambda handler: an API Gateway event in, its HTTP response out.
public struct PictureAPIHandler: LambdaHandler {
    let api: PictureAPI
    let aws: AWSClient

    public init(config: PictureAPIConfig) {
        aws = AWSClient(config: config.aws)
        api = PictureAPI(config: config, db: DynamoDBClient(aws: aws))
    }

    /// An event that is not an API Gateway request is an error for Lambda to report; everything a
    /// client can get wrong inside one is an HTTP answer.
    public func handle(_ event: [UInt8], context: LambdaContext) throws -> [UInt8] {
        let request = try APIGatewayRequest.parse(event)
        let scoped = PictureAPI(config: api.config, db: DynamoDBClient(aws: aws.scoped(CallScope(context))),
                                sharing: api)
        // A request about one picture (its upload, its detail) is logged with it (`picture`), so its
        // upload shows in the picture's journey with the other functions' lines.
        guard let picture = Self.picture(of: request, maxUploadBytes: api.config.maxUploadBytes) else {
            return scoped.respond(to: request, log: { context.logger.error($0) }).encoded(for: request.format)
        }
        let log = context.logger(about: picture)
        let response = scoped.respond(to: request, log: { log.error($0) })
        log.info("\(request.method) \(request.path) for \(picture): \(response.status)")
        return response.encoded(for: request.format)
    }

    /// The picture (`collection/name`) a request is about: an upload's (from its body) or a detail route's.
    static func picture(of request: APIGatewayRequest, maxUploadBytes: Int) -> String? {
        switch request.method {
        case "POST" where request.path == "/uploads":
            return (try? UploadRequest.parse(request.body, maxUploadBytes: maxUploadBytes))?.picture.description
        case "GET", "HEAD":
            let segments = request.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            guard segments.count >= 3, segments.first == "pictures" else { return nil }
            return PictureKey(collection: segments.dropFirst().dropLast().joined(separator: "/"),
                              name: String(segments.last!)).description
        default:
            return nil
        }
    }
}

extension PictureAPI {
    /// The same API with its calls bound to one invocation, keeping the rendered page.
    init(config: PictureAPIConfig, db: DynamoDBClient, sharing other: PictureAPI) {
        self.config = config
        self.db = db
        presigner = other.presigner
        page = other.page
    }
}
