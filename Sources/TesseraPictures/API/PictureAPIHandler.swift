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
        return scoped.respond(to: request, log: { context.logger.error($0) }).encoded(for: request.format)
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
