import TesseraProcessor
import TesseraRuntime

// picture-processor: reassembles device pictures and turns every new original into renditions,
// a pictures-table item and a notification.
LambdaRuntime.run(function: "picture-processor") { _ in
    PictureProcessorHandler(config: try ProcessorConfig.fromEnvironment(.process()))
}
