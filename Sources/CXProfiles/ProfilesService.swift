import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB
import SwiftProtobuf

/// The profiles service: customers, personas, segments and value, over one
/// store. The methods here are the RPC handlers; each is a thin adapter
/// that validates, then runs domain code inside one store write or read.
public final class ProfilesService: Sendable {
    public let store: Store
    /// The currency value reports use when a request names none.
    public let reportingCurrency: String
    let clock: @Sendable () -> Date
    let segments = SegmentCatalog()
    /// Customers GetCustomer answers from memory.
    let cache: CustomerCache
    let pager: Pager
    /// The services told, through the outbox, to erase a customer profiles erased.
    let destinations: Set<CXServiceName>
    /// Most rows one ImportCustomers call takes.
    public static let maxImportRows = 5_000
    /// Customers kept in memory for GetCustomer unless `open` is told otherwise.
    public static let defaultCacheCapacity = 100_000

    /// Opens (creating when needed) `<directory>/profiles.sqlite`.
    /// - Parameters:
    ///   - destinations: the services told to erase a customer when
    ///     DeleteCustomer erases one (none by default: a profiles service alone).
    ///   - clock: the time every rule and timestamp uses (tests move it).
    public static func open(
        directory: URL, options: StoreOptions = StoreOptions(), reportingCurrency: String = "IRR",
        cacheCapacity: Int = defaultCacheCapacity, destinations: Set<CXServiceName> = [],
        clock: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> ProfilesService {
        let store = try Store(directory: directory, name: "profiles", migrator: ProfilesDatabase.migrator, options: options)
        let secret = try await store.writeAlone { db in try Pager.secret(db, table: "profiles_meta") }
        return ProfilesService(
            store: store, secret: secret, reportingCurrency: reportingCurrency, cacheCapacity: cacheCapacity,
            destinations: destinations, clock: clock)
    }

    init(
        store: Store, secret: [UInt8], reportingCurrency: String, cacheCapacity: Int, destinations: Set<CXServiceName>,
        clock: @escaping @Sendable () -> Date
    ) {
        self.store = store
        self.destinations = destinations
        self.reportingCurrency = reportingCurrency
        self.clock = clock
        self.pager = Pager(secret: secret, clock: clock)
        self.cache = CustomerCache(capacity: cacheCapacity)
    }

    /// GetCustomer calls answered from memory and from the database, and
    /// how many customers the cache holds.
    public var cacheStatistics: (hits: Int, misses: Int, entries: Int) { cache.statistics }

    /// Adds every profiles method to `router`.
    public func register(into router: inout RPCRouter) {
        router.register(Cx_Profiles_V1_Customers.createCustomer) { try await self.createCustomer($0, $1) }
        router.register(Cx_Profiles_V1_Customers.getCustomer) { try await self.getCustomer($0, $1) }
        router.register(Cx_Profiles_V1_Customers.updateCustomer) { try await self.updateCustomer($0, $1) }
        router.register(Cx_Profiles_V1_Customers.deleteCustomer) { try await self.deleteCustomer($0, $1) }
        router.register(Cx_Profiles_V1_Customers.listCustomers) { try await self.listCustomers($0, $1) }
        router.register(Cx_Profiles_V1_Customers.searchCustomers) { try await self.searchCustomers($0, $1) }
        router.register(Cx_Profiles_V1_Customers.importCustomers) { try await self.importCustomers($0, $1) }
        router.register(Cx_Profiles_V1_Customers.updateTraits) { try await self.updateTraits($0, $1) }
        registerSegments(into: &router)
        registerValue(into: &router)
        registerPersonas(into: &router)
    }

    // MARK: helpers shared by the handlers

    /// The idempotency key of a write (see ``RequestCheck/idempotencyKey(_:_:fieldName:)``).
    func idempotencyKey(_ field: String, _ context: ServerContext) throws(RPCError) -> String? {
        try RequestCheck.idempotencyKey(field, context)
    }

    /// Runs `body` in a write, once per idempotency key (see ``Store/idempotentWrite(_:key:request:alone:_:)``).
    func write<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ scope: String, key: String?, request: Request, alone: Bool = false,
        subjects: @escaping @Sendable (Database, Response) throws -> [String] = { _, _ in [] },
        _ body: @escaping @Sendable (Database) throws -> Response
    ) async throws -> Response {
        try await store.idempotentWrite(scope, key: key, request: request, alone: alone, subjects: subjects, body)
    }

    static func pageSize(_ requested: Int32, field: String = "page_size") throws(RPCError) -> Int {
        try RequestCheck.pageSize(requested, field: field)
    }

    /// The position a page token carries, or nil for the first page.
    func position(_ token: String, scope: String) throws(RPCError) -> [String]? {
        try pager.position(token, scope: scope)
    }

    func nextToken(scope: String, last: String?, full: Bool) -> String {
        pager.nextToken(scope: scope, last: last.map { [$0] }, full: full)
    }

    static func notFound(_ id: String, erased: Date? = nil) -> RPCError {
        if let erased {
            return RPCError(code: .notFound, message: "customer \"\(id)\" was erased at \(erased)", reason: "CUSTOMER_ERASED")
        }
        return RPCError(code: .notFound, message: "no customer has id \"\(id)\"", reason: "CUSTOMER_NOT_FOUND")
    }

    static func live(_ stored: ProfilesDatabase.Stored?, id: String) throws(RPCError) -> Cx_Profiles_V1_Customer {
        switch stored {
        case .live(let customer): return customer
        case .erased(let at): throw notFound(id, erased: at)
        case nil: throw notFound(id)
        }
    }

    static func generateID(prefix: String) -> String {
        prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
    }
}

// MARK: - Customers

extension ProfilesService {
    func createCustomer(_ request: Cx_Profiles_V1_CreateCustomerRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_CreateCustomerResponse
    {
        let key = try idempotencyKey(request.idempotencyKey, context)
        let now = clock()
        let prepared = try Self.prepareNew(request.customer, prefix: "customer", now: now)
        let segments = self.segments
        let cache = self.cache
        return try await write("profiles.CreateCustomer", key: key, request: request, subjects: { _, response in [response.customer.id] }) { db in
            var customer = prepared
            if customer.id.isEmpty { customer.id = Self.generateID(prefix: "c-") }
            try Self.insertNew(db, customer, segments: segments, cache: cache, now: now)
            var response = Cx_Profiles_V1_CreateCustomerResponse()
            response.customer = customer
            return response
        }
    }

    /// Validates a new customer and sets the server's fields (not the id).
    static func prepareNew(_ source: Cx_Profiles_V1_Customer, prefix: String, now: Date) throws(RPCError) -> Cx_Profiles_V1_Customer {
        var customer = source
        // Output only: set by the server, ignored when sent.
        customer.clearTraits()
        customer.clearCreatedAt()
        customer.clearUpdatedAt()
        customer.attributes = customer.attributes.filter { !$0.value.isEmpty }
        CustomerValidation.canonicalize(&customer, now: now)
        try CustomerValidation.validate(customer, prefix: prefix, now: now)
        guard !(customer.name.isEmpty && customer.email.isEmpty && customer.phone.isEmpty) else {
            throw .invalidArgument(field: "\(prefix).name", "one of name, email and phone must be set")
        }
        customer.createdAt = Google_Protobuf_Timestamp(date: now)
        customer.updatedAt = customer.createdAt
        customer.version = 1
        return customer
    }

    static func insertNew(_ db: Database, _ customer: Cx_Profiles_V1_Customer, segments: SegmentCatalog, cache: CustomerCache, now: Date) throws {
        switch try ProfilesDatabase.customer(db, id: customer.id) {
        case .live:
            throw RPCError(code: .alreadyExists, message: "customer \"\(customer.id)\" already exists", reason: "CUSTOMER_EXISTS")
        case .erased:
            throw RPCError(
                code: .alreadyExists, message: "customer id \"\(customer.id)\" belonged to an erased customer and is never reused",
                reason: "CUSTOMER_ERASED")
        case nil:
            break
        }
        try ProfilesDatabase.save(db, customer, isNew: true, cache: cache)
        try SegmentMembership.refresh(db, customer: customer, segments: segments.segments(db), now: now)
    }

    func getCustomer(_ request: Cx_Profiles_V1_GetCustomerRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_GetCustomerResponse
    {
        let id = request.customerID
        try CustomerValidation.validateID(id, field: "customer_id")
        var response = Cx_Profiles_V1_GetCustomerResponse()
        if let cached = cache.get(id) {
            // Answered without suspending: the server replies on the event loop.
            response.customer = try Self.live(cached, id: id)
            return response
        }
        let ticket = cache.ticket(for: id)
        let stored = try await store.read { db in try ProfilesDatabase.customer(db, id: id) }
        if let stored { cache.fill(id, with: stored, ticket: ticket) }
        response.customer = try Self.live(stored, id: id)
        return response
    }

    func updateCustomer(_ request: Cx_Profiles_V1_UpdateCustomerRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_UpdateCustomerResponse
    {
        let id = request.customerID
        try CustomerValidation.validateID(id, field: "customer_id")
        let now = clock()
        try CustomerMask.validate(request.updateMask, source: request.customer, now: now)
        let key = try idempotencyKey(request.idempotencyKey, context)
        let segments = self.segments
        let cache = self.cache
        return try await write("profiles.UpdateCustomer", key: key, request: request, subjects: { _, response in [response.customer.id] }) { db in
            let current = try Self.live(try ProfilesDatabase.customer(db, id: id), id: id)
            if request.expectedVersion != 0, request.expectedVersion != current.version {
                throw RPCError(
                    code: .aborted,
                    message: "customer \"\(id)\" is at version \(current.version), not \(request.expectedVersion): read it again and retry",
                    reason: "VERSION_MISMATCH")
            }
            var updated = CustomerMask.apply(request.updateMask, from: request.customer, to: current)
            CustomerValidation.canonicalize(&updated, now: now)
            var response = Cx_Profiles_V1_UpdateCustomerResponse()
            guard updated != current else {
                response.customer = current
                return response
            }
            if updated.name.isEmpty && updated.email.isEmpty && updated.phone.isEmpty {
                throw RPCError.invalidArgument(field: "update_mask", "would leave name, email and phone all empty")
            }
            updated.version = current.version + 1
            updated.updatedAt = Google_Protobuf_Timestamp(date: now)
            try ProfilesDatabase.save(db, updated, isNew: false, cache: cache)
            var changed = Set(request.updateMask)
            changed.insert("updated_at")
            if changed.contains("attributes") { changed.formUnion(current.attributes.keys.map { "attributes.\($0)" }) }
            try SegmentMembership.refresh(db, customer: updated, segments: segments.segments(db), changedFields: changed, now: now)
            response.customer = updated
            return response
        }
    }

    func deleteCustomer(_ request: Cx_Profiles_V1_DeleteCustomerRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_DeleteCustomerResponse
    {
        let id = request.customerID
        try CustomerValidation.validateID(id, field: "customer_id")
        let key = try idempotencyKey(request.idempotencyKey, context)
        let now = clock()
        let cache = self.cache
        let destinations = self.destinations
        return try await write("profiles.DeleteCustomer", key: key, request: request) { db in
            var response = Cx_Profiles_V1_DeleteCustomerResponse()
            response.customerID = id
            response.erased = true
            switch try ProfilesDatabase.customer(db, id: id) {
            case nil:
                throw Self.notFound(id)
            case .erased(let at):
                response.erasedAt = Google_Protobuf_Timestamp(date: at)
            case .live:
                try ProfilesDatabase.erase(db, id: id, at: now, cache: cache)
                response.erasedAt = Google_Protobuf_Timestamp(date: now)
                try Self.tellErased(db, id: id, at: now, destinations: destinations)
            }
            return response
        }
    }

    /// The EraseCustomer method of each service that keeps records under a customer's id.
    static let eraseMethods: [CXServiceName: String] = [
        .loyalty: Cx_Loyalty_V1_Loyalty.eraseCustomer.fullName,
        .journey: Cx_Journey_V1_Journey.eraseCustomer.fullName,
        .feedback: Cx_Feedback_V1_Feedback.eraseCustomer.fullName,
    ]

    /// Tells every destination, in the erasing write's own transaction, to
    /// erase what it keeps under `id`: an erasure is never acknowledged
    /// without the promise to pass it on.
    static func tellErased(_ db: Database, id: String, at: Date, destinations: Set<CXServiceName>) throws {
        var request = Cx_Common_V1_EraseCustomerRequest()
        request.customerID = id
        request.erasedAt = Google_Protobuf_Timestamp(date: at)
        let payload = try request.serializedData()
        for destination in destinations.sorted(by: { $0.rawValue < $1.rawValue }) {
            guard let method = eraseMethods[destination] else { continue }
            try Outbox.enqueue(
                db,
                OutboxEvent(
                    eventID: "profiles:erase:\(id):\(destination.rawValue)", destination: destination.rawValue, method: method,
                    orderingKey: id, payload: payload),
                now: at)
        }
    }

    func listCustomers(_ request: Cx_Profiles_V1_ListCustomersRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_ListCustomersResponse
    {
        let size = try Self.pageSize(request.pageSize)
        let scope = "profiles.ListCustomers"
        let after = try position(request.pageToken, scope: scope)?.first
        let customers = try await store.read { db in try ProfilesDatabase.customers(db, after: after, limit: size) }
        var response = Cx_Profiles_V1_ListCustomersResponse()
        response.customers = customers
        response.nextPageToken = nextToken(scope: scope, last: customers.last?.id, full: customers.count == size)
        return response
    }

    func searchCustomers(_ request: Cx_Profiles_V1_SearchCustomersRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_SearchCustomersResponse
    {
        let size = try Self.pageSize(request.pageSize)
        let fields: [ProfilesDatabase.SearchField]
        switch request.field {
        case .all: fields = ProfilesDatabase.SearchField.allCases
        case .name: fields = [.name]
        case .email: fields = [.email]
        case .phone: fields = [.phone]
        case .UNRECOGNIZED(let value): throw RPCError.invalidArgument(field: "field", "\(value) is not a search field")
        }
        let terms: [String]
        if fields == [.phone] {
            terms = [CXText.phoneDigits(request.query)].filter { !$0.isEmpty }
        } else if request.query.contains("@") {
            terms = [CXText.normalizeEmail(request.query)]
        } else {
            terms = CXText.searchTokens(request.query)
        }
        guard let first = terms.max(by: { $0.count < $1.count }), request.query.count <= 200 else {
            throw RPCError.invalidArgument(field: "query", "must hold a word, an email or phone digits (at most 200 characters)")
        }
        // The page token is bound to the query, so a token cannot be used to
        // page through a different search.
        let scope = "profiles.SearchCustomers:\(request.field.rawValue):\(CXText.normalize(request.query))"
        let after = try position(request.pageToken, scope: scope)?.first
        let fieldCodes = fields.map(\.rawValue)
        let found: [Cx_Profiles_V1_Customer] = try await store.read { db in
            var found: [Cx_Profiles_V1_Customer] = []
            var cursorID = after ?? ""
            let placeholders = fieldCodes.map { _ in "?" }.joined(separator: ",")
            while found.count < size {
                var arguments: StatementArguments = [first, first + "\u{10FFFF}"]
                arguments += StatementArguments(fieldCodes)
                arguments += [cursorID, size * 2]
                let ids = try String.fetchAll(
                    db,
                    sql: """
                        SELECT DISTINCT customer_id FROM customer_token
                        WHERE token >= ? AND token < ? AND field IN (\(placeholders)) AND customer_id > ?
                        ORDER BY customer_id LIMIT ?
                        """,
                    arguments: arguments)
                for id in ids {
                    cursorID = id
                    guard case .live(let customer) = try ProfilesDatabase.customer(db, id: id) else { continue }
                    let tokens = ProfilesDatabase.searchTokens(customer).filter { fields.contains($0.1) }.map(\.0)
                    if terms.allSatisfy({ term in tokens.contains { $0.hasPrefix(term) } }) {
                        found.append(customer)
                        if found.count == size { break }
                    }
                }
                if ids.count < size * 2 { break }
            }
            return found
        }
        var response = Cx_Profiles_V1_SearchCustomersResponse()
        response.customers = found
        response.nextPageToken = nextToken(scope: scope, last: found.last?.id, full: found.count == size)
        return response
    }

    func importCustomers(_ request: Cx_Profiles_V1_ImportCustomersRequest, _ context: ServerContext) async throws
        -> Cx_Profiles_V1_ImportCustomersResponse
    {
        guard !request.customers.isEmpty, request.customers.count <= Self.maxImportRows else {
            throw RPCError.invalidArgument(
                field: "customers", "has \(request.customers.count) rows; send 1 to \(Self.maxImportRows) per call")
        }
        let key = try idempotencyKey(request.idempotencyKey, context)
        let now = clock()
        // Validate and encode outside the transaction, on this call's own
        // thread; only valid rows reach the writer, which every write shares.
        var prepared: [Result<(customer: Cx_Profiles_V1_Customer, encoded: ProfilesDatabase.Encoded), RPCError>] = []
        prepared.reserveCapacity(request.customers.count)
        for (index, source) in request.customers.enumerated() {
            var customer: Cx_Profiles_V1_Customer
            do throws(RPCError) {
                customer = try Self.prepareNew(source, prefix: "customers[\(index)]", now: now)
            } catch {
                prepared.append(.failure(error))
                continue
            }
            if customer.id.isEmpty { customer.id = Self.generateID(prefix: "c-") }
            prepared.append(.success((customer, try ProfilesDatabase.encode(customer))))
        }
        let rows = prepared
        let segments = self.segments
        let cache = self.cache
        return try await write("profiles.ImportCustomers", key: key, request: request, subjects: { _, response in response.results.map(\.customerID) }) { db in
            var response = Cx_Profiles_V1_ImportCustomersResponse()
            let catalog = try segments.segments(db)
            for (index, row) in rows.enumerated() {
                var result = Cx_Profiles_V1_ImportRowResult()
                result.index = Int32(index)
                // A row is refused before it writes anything, so it needs no
                // savepoint; an error while writing (the disk) fails the call,
                // and group commit rolls all of it back.
                let refusal: RPCError?
                switch row {
                case .failure(let error):
                    refusal = error
                case .success(let (customer, encoded)):
                    switch try ProfilesDatabase.customer(db, id: customer.id) {
                    case .live:
                        refusal = RPCError(code: .alreadyExists, message: "customer \"\(customer.id)\" already exists", reason: "CUSTOMER_EXISTS")
                    case .erased:
                        refusal = RPCError(
                            code: .alreadyExists, message: "customer id \"\(customer.id)\" belonged to an erased customer", reason: "CUSTOMER_ERASED")
                    case nil:
                        try ProfilesDatabase.save(db, customer, isNew: true, cache: cache, encoded: encoded)
                        try SegmentMembership.refresh(db, customer: customer, segments: catalog, now: now)
                        result.customerID = customer.id
                        response.created += 1
                        refusal = nil
                    }
                }
                if let error = refusal {
                    var rowError = Cx_Profiles_V1_ImportRowError()
                    rowError.code = error.code.wireValue
                    // The field within the row ("email"), as the contract says, not the request path.
                    let field = error.fieldViolations.first?.field ?? ""
                    let rowPrefix = "customers[\(index)]."
                    rowError.field = field.hasPrefix(rowPrefix) ? String(field.dropFirst(rowPrefix.count)) : field
                    rowError.message = error.message
                    rowError.reason = error.reason
                    result.error = rowError
                    response.failed += 1
                }
                response.results.append(result)
            }
            return response
        }
    }
}
