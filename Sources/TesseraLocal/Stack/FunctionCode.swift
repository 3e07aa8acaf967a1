import Glibc
import TesseraSupport

/// Where the local stack takes each function's code from.
public enum FunctionCode: Sendable {
    /// `swift build`'s products: `<folder>/<executable>`, linked against this machine's libraries.
    case buildProducts(String)
    /// The deployment zips `scripts/package` writes (`<folder>/<executable>.zip`), unpacked as Lambda
    /// unpacks them into `<tasks>/<executable>` (its /var/task) and started as Lambda starts them:
    /// `bootstrap`, with its `lib/` and nothing of the build tree on the loader's path.
    case packages(String, tasks: String)

    /// Unpacks the zips (a no-op for build products); a missing zip or a failed unzip is named.
    public func prepare(_ executables: [String]) throws {
        guard case let .packages(folder, tasks) = self else { return }
        _ = mkdir(tasks, 0o755)
        for executable in executables {
            let zip = "\(folder)/\(executable).zip", task = "\(tasks)/\(executable)"
            guard access(zip, R_OK) == 0 else {
                throw LocalUpError("no \(zip): build the deployment zips first (`scripts/package provided.al2023`)")
            }
            // unzip keeps the files' modes, as Lambda does: a bootstrap zipped without its execute bit fails here too.
            let remove = try ChildProcess(["rm", "-rf", task], environment: Environment.process().values)
            _ = remove.waitForExit(timeout: 30)
            let unzip = try ChildProcess(["unzip", "-q", "-o", zip, "-d", task], environment: Environment.process().values,
                                         logPath: "\(tasks)/\(executable).unzip.log")
            guard let exit = unzip.waitForExit(timeout: 60), exit.status == 0 else {
                unzip.terminate()
                throw LocalUpError("cannot unpack \(zip) into \(task): \(unzip.log.suffix(400))")
            }
            guard access("\(task)/bootstrap", X_OK) == 0 else {
                throw LocalUpError("\(zip) has no executable bootstrap at its top: Lambda could not start it either "
                                   + "(scripts/package makes the zips; scripts/elf-check says what is wrong with one)")
            }
        }
    }

    /// The file to start for `executable`, and what its environment adds.
    func command(_ executable: String) -> (path: String, environment: [String: String]) {
        switch self {
        case let .buildProducts(folder):
            return ("\(folder)/\(executable)", [:])
        case let .packages(_, tasks):
            // Lambda's LD_LIBRARY_PATH holds the runtime's folders, then /var/task/lib; here the
            // system's own folders come after the variable's.
            return ("\(tasks)/\(executable)/bootstrap", ["LD_LIBRARY_PATH": "\(tasks)/\(executable)/lib",
                                                           "LAMBDA_TASK_ROOT": "\(tasks)/\(executable)"])
        }
    }
}
