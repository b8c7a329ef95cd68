import CXModel
import SwiftProtobuf

/// Health, Reflection and Echo: what every CX server answers.
enum BuiltinMethods {
    static func register(
        into router: inout RPCRouter,
        configuration: RPCServerConfiguration,
        stats: ServerStats,
        state draining: @escaping @Sendable () -> Bool
    ) {
        router.register(Cx_Wire_V1_Health.check, synchronousHandler: { _, _ in
            var response = Cx_Wire_V1_HealthCheckResponse()
            response.server = configuration.name
            response.version = configuration.version
            response.startedAt = Google_Protobuf_Timestamp(date: stats.startedAt)
            response.callsInFlight = UInt64(max(0, stats.callsInFlight))
            response.connections = UInt32(max(0, stats.connections))
            if draining() {
                response.status = .notServing
                response.detail = "shutting down"
            } else {
                response.status = .serving
            }
            return response
        })
        router.register(Cx_Wire_V1_Echo.echo, synchronousHandler: { request, _ in
            var response = Cx_Wire_V1_EchoResponse()
            response.payload = request.payload
            response.text = request.text
            return response
        })
        // Reflection lists the router as it is after this registration, itself included.
        var methods = router.methods.map(\.self)
        methods.append(AnyMethodDescriptor(Cx_Wire_V1_Reflection.listMethods))
        let listing = methods.sorted { $0.fullName < $1.fullName }.map { method in
            var info = Cx_Wire_V1_MethodInfo()
            info.name = method.fullName
            info.requestType = method.requestTypeName
            info.responseType = method.responseTypeName
            info.access = Cx_Common_V1_Access(rawValue: method.access.rawValue) ?? .unspecified
            return info
        }
        router.register(Cx_Wire_V1_Reflection.listMethods, synchronousHandler: { _, _ in
            var response = Cx_Wire_V1_ListMethodsResponse()
            response.server = configuration.name
            response.methods = listing
            return response
        })
    }
}
