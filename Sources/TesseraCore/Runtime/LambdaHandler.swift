/// A function's logic: one event in, one response out. Throwing reports an error for that invocation.
public protocol LambdaHandler {
    func handle(_ event: [UInt8], context: LambdaContext) throws -> [UInt8]
}

/// An error that names its own `errorType` in the error report (otherwise the Swift type name is used).
public protocol LambdaReportableError: Error, CustomStringConvertible {
    var errorType: String { get }
}

/// A handler made from a closure, for small functions and tests.
public struct ClosureHandler: LambdaHandler, Sendable {
    let body: @Sendable (_ event: [UInt8], _ context: LambdaContext) throws -> [UInt8]

    public init(_ body: @escaping @Sendable (_ event: [UInt8], _ context: LambdaContext) throws -> [UInt8]) {
        self.body = body
    }

    public func handle(_ event: [UInt8], context: LambdaContext) throws -> [UInt8] {
        try body(event, context)
    }
}

/// The `errorType` and `errorMessage` Lambda shows for an error.
public func errorReport(for error: Error) -> (type: String, message: String) {
    if let reportable = error as? LambdaReportableError {
        return (reportable.errorType, reportable.description)
    }
    return (String(describing: type(of: error)), String(describing: error))
}
