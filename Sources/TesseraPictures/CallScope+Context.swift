import TesseraAWS
import TesseraRuntime

extension CallScope {
    /// The scope of one invocation: its deadline and trace id.
    public init(_ context: LambdaContext) {
        self.init(deadlineMilliseconds: context.deadlineMilliseconds > 0 ? context.deadlineMilliseconds : nil,
                  traceId: context.traceId)
    }
}
