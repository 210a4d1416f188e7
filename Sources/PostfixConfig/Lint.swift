/// `postconf --check`: not implemented yet.
enum Lint {
    static func main(_ arguments: [String], program: String) -> Int32 { 1 }
}
