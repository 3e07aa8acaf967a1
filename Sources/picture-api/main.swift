import TesseraPictures
import TesseraRuntime

// picture-api: API Gateway's HTTP API calls it for the page, presigned uploads and queries.
LambdaRuntime.run(function: "picture-api") { _ in
    PictureAPIHandler(config: try PictureAPIConfig.fromEnvironment(.process()))
}
