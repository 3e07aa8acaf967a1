import TesseraHTTP
import TesseraSupport

/// A function's logic: one event in, one response out. Throwing reports an error for that invocation.
public protocol LambdaHandler {
    func handle(_ event: [UInt8], context: LambdaContext) throws -> [UInt8]
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

