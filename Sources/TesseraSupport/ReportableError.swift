/// An error that names its own `errorType` in the error report (otherwise the Swift type name is used).
public protocol LambdaReportableError: Error, CustomStringConvertible {
    var errorType: String { get }
}

/// The `errorType` and `errorMessage` Lambda shows for an error.
public func errorReport(for error: Error) -> (type: String, message: String) {
    if let reportable = error as? LambdaReportableError {
        return (reportable.errorType, reportable.description)
    }
    return (String(describing: type(of: error)), String(describing: error))
}
