import Glibc
import TesseraHTTP
import TesseraSupport

/// The entry point of a function's `main`: start-up, init-error reporting, then the invocation loop.
public enum LambdaRuntime {
    /// Builds the handler (reading configuration once) and serves invocations; never returns.
    ///
    /// A failure in `makeHandler` is posted to `/runtime/init/error` and the process exits with 1.
    /// `function` names the function in the metrics lines (their `function` dimension); nil writes none.
    public static func run<Handler: LambdaHandler>(function: String? = nil,
                                                   _ makeHandler: (LambdaLogger) throws -> Handler) -> Never {
        // A log pipe closed by its reader must not kill the process mid-invocation: writes then fail quietly.
        signal(SIGPIPE, SIG_IGN)
        let logger = LambdaLogger.fromEnvironment()
        guard let endpoint = getenvString("AWS_LAMBDA_RUNTIME_API") else {
            logger.fatal("AWS_LAMBDA_RUNTIME_API is not set: this binary runs inside Lambda or `tessera local`")
            exit(1)
        }
        let client = RuntimeClient(endpoint: endpoint)
        let handler: Handler
        do {
            handler = try makeHandler(logger)
        } catch {
            let (type, message) = errorReport(for: error)
            logger.fatal("init failed: \(type): \(message)")
            _ = try? client.postInitError(type: type, message: message)
            exit(1)
        }
        installTerminationHandler()
        switch RuntimeLoop(client: client, logger: logger, function: function).run(handler) {
        case .terminated:
            logger.info("SIGTERM: runtime stopping")
            exit(0)
        case let .runtimeAPIFailed(reason):
            logger.fatal("\(reason); exiting")
            exit(1)
        }
    }
}
