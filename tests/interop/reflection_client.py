#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# reflection_client.py - what a generic gRPC tool does with a server it
# knows nothing of: ask server reflection (grpc.reflection.v1 and v1alpha,
# stubs from Debian's grpc-proto) for the services, fetch the file of one,
# build its messages from the descriptors alone and call a method.
#   reflection_client.py GENDIR BROKER_TARGET
# Checks: the four services are listed (both protocol versions); files by
# symbol (a service, a method, a nested enum) and by name; the dynamic call
# of GetHostName equals this host's name; unknown symbols and files are
# error responses with NOT_FOUND on a stream that goes on.
import socket
import sys

import importlib.util
import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf import message_factory
from checks import check, finish                      # noqa: E402


def load(path, name):
    """A generated module by its file: the package name `grpc` is grpcio's."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


gen = sys.argv[1]
v1 = load(gen + "/grpc/reflection/v1/reflection_pb2.py", "reflection_v1_pb2")
v1a = load(gen + "/grpc/reflection/v1alpha/reflection_pb2.py", "reflection_v1alpha_pb2")
target = sys.argv[2]



chan = grpc.insecure_channel(target)


def ask(service, pb, reqs):
    """One reflection stream of @service: the answers to @reqs, in order."""
    call = chan.stream_stream("/%s/ServerReflectionInfo" % service,
                              request_serializer=lambda m: m.SerializeToString(),
                              response_deserializer=pb.ServerReflectionResponse.FromString)
    return list(call(iter(reqs), timeout=10))


want = {"sockbroker.v1.SocketBroker", "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"}
for name, pb in (("v1", v1), ("v1alpha", v1a)):
    r = ask("grpc.reflection.%s.ServerReflection" % name, pb,
            [pb.ServerReflectionRequest(list_services="")])
    got = {s.name for s in r[0].list_services_response.service}
    check(got == want, "%s: list_services: %s" % (name, sorted(got)))

answers = ask("grpc.reflection.v1.ServerReflection", v1, [
    v1.ServerReflectionRequest(file_containing_symbol="sockbroker.v1.SocketBroker"),
    v1.ServerReflectionRequest(file_containing_symbol="sockbroker.v1.SocketBroker.Dial"),
    v1.ServerReflectionRequest(file_containing_symbol="sockbroker.v1.InterfaceEvent.Kind"),
    v1.ServerReflectionRequest(file_containing_symbol="no.such.Symbol"),
    v1.ServerReflectionRequest(file_by_filename="grpc/health/v1/health.proto"),
    v1.ServerReflectionRequest(file_by_filename="no/such.proto"),
    v1.ServerReflectionRequest(all_extension_numbers_of_type="sockbroker.v1.DialRequest"),
])
check(len(answers) == 7, "one answer per request on one stream (%d)" % len(answers))
files = [descriptor_pb2.FileDescriptorProto.FromString(a.file_descriptor_response
                                                        .file_descriptor_proto[0])
         if a.WhichOneof("message_response") == "file_descriptor_response" else None
         for a in answers]
check(all(f and f.name == "sockbroker/v1/sockbroker.proto" for f in files[:3]),
      "a service, a method and a nested enum are found in sockbroker/v1/sockbroker.proto")
check(answers[3].WhichOneof("message_response") == "error_response" and
      answers[3].error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0],
      "an unknown symbol is an error response with NOT_FOUND")
check(files[4] is not None and files[4].name == "grpc/health/v1/health.proto" and
      files[4].service[0].name == "Health", "file_by_filename grpc/health/v1/health.proto")
check(answers[5].WhichOneof("message_response") == "error_response",
      "an unknown file is an error response")
check(answers[6].all_extension_numbers_response.base_type_name == "sockbroker.v1.DialRequest"
      and not answers[6].all_extension_numbers_response.extension_number,
      "a known type has no extension numbers")

# A call made from the descriptors alone, as a generic tool makes it.
pool = descriptor_pool.DescriptorPool()
pool.Add(files[0])
svc = pool.FindServiceByName("sockbroker.v1.SocketBroker")
method = svc.methods_by_name["GetHostName"]
factory = message_factory.MessageFactory(pool)
req_cls = factory.GetPrototype(method.input_type)
rep_cls = factory.GetPrototype(method.output_type)
rep = chan.unary_unary("/%s/%s" % (svc.full_name, method.name),
                       request_serializer=lambda m: m.SerializeToString(),
                       response_deserializer=rep_cls.FromString)(req_cls(), timeout=10)
check(rep.name == socket.gethostname(),
      "GetHostName called from reflected descriptors: %r" % rep.name)
check(len(svc.methods) > 30, "the reflected service has its %d methods" % len(svc.methods))

chan.close()
finish()
