import TesseraPictures
import TesseraRuntime

// piece-storage: invoked by the IoT Core rule once per MQTT message of a device's picture.
LambdaRuntime.run(function: "piece-storage") { _ in
    PieceStorageHandler(config: try PieceStorageConfig.fromEnvironment(.process()))
}
