#!/usr/bin/ruby
# SPDX-License-Identifier: MIT
# ruby_client.rb - proof that a client generated from the .proto in Ruby
# (protoc --ruby_out + grpc_ruby_plugin, generated at build time) uses the
# broker: a session whose lease stream stays open, a TCP socket connected
# to a local server, send and receive, GetAddrInfo and GetIfAddrs equal to
# Ruby's own answers (Addrinfo.getaddrinfo, Socket.getifaddrs), and error
# cases with their errno.
#   ruby_client.rb GENDIR BROKER_TARGET
$LOAD_PATH.unshift(ARGV[0])
require 'grpc'
require 'ipaddr'
require 'socket'
require 'timeout'
require 'sockbroker/v1/sockbroker_services_pb'

SB = Sockbroker::V1
target = ARGV[1]
$passed = 0
$fails = 0

def check(cond, what)
  if cond
    $passed += 1
    puts "ok: #{what}"
  else
    $fails += 1
    puts "FAIL: #{what}"
  end
end

def inet4(ip, port)
  SB::Address.new(inet: SB::Inet4Address.new(addr: IPAddr.new(ip).hton, port: port))
end

# "1.2.3.4" or "fe80::1" of an Address message, or nil.
def ip_of(a)
  return nil if a.nil?
  case a.kind
  when :inet then IPAddr.new_ntoh(a.inet.addr).to_s
  when :inet6 then IPAddr.new_ntoh(a.inet6.addr).to_s
  end
end

def port_of(a)
  a.kind == :inet ? a.inet.port : a.inet6.port
end

def prefixlen(mask_ip)
  IPAddr.new(mask_ip).to_i.to_s(2).count('1')
end

# Every call is bounded.
def dl(secs = 5)
  Time.now + secs
end

stub = SB::SocketBroker::Stub.new(target, :this_channel_is_insecure)

# ---- a session: the lease is a server stream, read in a thread of its own
# and kept open while we work.
events = Queue.new
lease_op = stub.open_session(SB::OpenSessionRequest.new(client_name: 'ruby-interop'),
                             return_op: true, deadline: dl(60))
lease_thread = Thread.new do
  lease_op.execute.each { |ev| events << ev }
  events << :end
rescue GRPC::BadStatus => e
  events << e
end
first = Timeout.timeout(10) { events.pop }
check(first.is_a?(SB::SessionEvent) && first.token.size == 32 && first.session_id != 0,
      'OpenSession gives a token and an id')
md = { 'sb-session' => first.token }
check(first.identity.transport == 'unix' && first.identity.uid == Process.euid,
      "OpenSession: the broker sees uid #{first.identity.uid} over #{first.identity.transport}")

# ---- a TCP socket to a local (Ruby) server: connect, send, receive.
srv = TCPServer.new('127.0.0.1', 0)
port = srv.addr[1]
server = Thread.new do
  c = srv.accept
  data = c.readpartial(100)
  c.write(data.upcase)
  peer = c.remote_address.ip_port
  c.close
  peer
end

r = stub.socket(SB::SocketRequest.new(family: :AF_INET, type: :SOCK_STREAM), metadata: md, deadline: dl)
check(r.error == :E_OK && r.handle != 0, 'Socket(AF_INET, SOCK_STREAM)')
h = r.handle
r = stub.connect(SB::ConnectRequest.new(handle: h, address: inet4('127.0.0.1', port)),
                 metadata: md, deadline: dl)
check(r.error == :E_OK, 'Connect to a local server')
r = stub.send(SB::SendRequest.new(handle: h, data: 'hello broker'), metadata: md, deadline: dl)
check(r.error == :E_OK && r.sent == 12, 'Send 12 bytes')
r = stub.recv(SB::RecvRequest.new(handle: h, max_bytes: 100, flags: SB::MsgFlag::MSG_WAITALL),
              metadata: md, deadline: dl)
check(r.error == :E_OK && r.data == 'HELLO BROKER', 'Recv the echo')
peer_port = Timeout.timeout(10) { server.value }
r = stub.get_sock_name(SB::GetSockNameRequest.new(handle: h), metadata: md, deadline: dl)
check(r.error == :E_OK && r.address.inet.port == peer_port,
      "GetSockName: port #{r.address.inet.port} as the server saw it")
r = stub.close(SB::CloseRequest.new(handle: h), metadata: md, deadline: dl)
check(r.error == :E_OK, 'Close')

# ---- GetAddrInfo equals Addrinfo.getaddrinfo, row by row.
[['localhost', nil, Socket::SOCK_STREAM, 0],
 ['localhost', 'http', 0, Socket::AI_CANONNAME],
 ['127.0.0.1', '53', Socket::SOCK_DGRAM, Socket::AI_NUMERICHOST]].each do |node, svc, type, flags|
  req = SB::GetAddrInfoRequest.new(node: node, service: svc.to_s, socktype: type, flags: flags)
  r = stub.get_addr_info(req, deadline: dl)
  got = r.results.map do |ai|
    [SB::AddressFamily.resolve(ai.family), SB::SocketType.resolve(ai.socktype),
     SB::Protocol.resolve(ai.protocol), ip_of(ai.address), port_of(ai.address)]
  end
  want = Addrinfo.getaddrinfo(node, svc, nil, type, nil, flags).map do |a|
    [a.afamily, a.socktype, a.protocol, a.ip_address, a.ip_port]
  end
  check(r.eai == :EAI_OK && got == want,
        "GetAddrInfo(#{node}, #{svc.inspect}) equals Addrinfo.getaddrinfo: #{got}")
  if flags & Socket::AI_CANONNAME != 0
    canon = Addrinfo.getaddrinfo(node, svc, nil, type, nil, flags).first.canonname
    check(r.results.first.canonname == canon, "GetAddrInfo canonname #{canon.inspect}")
  end
end
r = stub.get_addr_info(SB::GetAddrInfoRequest.new(node: 'no.such.host.invalid'), deadline: dl(30))
begin
  Addrinfo.getaddrinfo('no.such.host.invalid', nil)
  ruby_err = nil
rescue SocketError => e
  ruby_err = e.message
end
check(r.eai != :EAI_OK && ruby_err && (r.eai != :EAI_NONAME || ruby_err.include?('Name or service not known')),
      "GetAddrInfo(no.such.host.invalid): #{r.eai} (Ruby: #{ruby_err})")

# ---- GetIfAddrs equals Socket.getifaddrs, row by row in libc's order.
r = stub.get_if_addrs(SB::GetIfAddrsRequest.new, deadline: dl)
check(r.error == :E_OK, 'GetIfAddrs')
mine = Socket.getifaddrs
fam = lambda do |a|
  next nil if a.nil?
  next :packet if a.pfamily == Socket::PF_PACKET
  a.ipv4? ? :inet : (a.ipv6? ? :inet6 : a.pfamily)
end
theirs_rows = r.interfaces.map { |i| [i.name, i.address.kind == :link ? :packet : i.address.kind] }
mine_rows = mine.map { |i| [i.name, fam.call(i.addr)] }
check(theirs_rows == mine_rows, "GetIfAddrs rows (name, family) in Socket.getifaddrs's order: #{theirs_rows.size} rows")
check(r.interfaces.map { |i| [i.name, i.index] } == mine.map { |i| [i.name, i.ifindex] },
      'GetIfAddrs interface indexes equal Socket.getifaddrs')
check(r.interfaces.map(&:flags) == mine.map(&:flags), 'GetIfAddrs flags equal Socket.getifaddrs')
want = mine.select { |i| %i[inet inet6].include?(fam.call(i.addr)) }.map do |i|
  [i.name, IPAddr.new(i.addr.ip_address.sub(/%.*/, '')).to_s,
   prefixlen(i.netmask.ip_address.sub(/%.*/, ''))]
end
got = r.interfaces.select { |i| %i[inet inet6].include?(i.address.kind) }.map do |i|
  [i.name, ip_of(i.address), prefixlen(ip_of(i.netmask))]
end
check(got == want, "GetIfAddrs addresses and prefixes equal Socket.getifaddrs: #{got}")
hw_want = mine.select { |i| fam.call(i.addr) == :packet }.map do |i|
  [i.name, i.addr.inspect[/hwaddr=([0-9a-f:]*)/, 1] || '']
end
hw_got = r.interfaces.select { |i| i.address.kind == :link }.map do |i|
  [i.name, i.address.link.addr.unpack('C*').map { |b| format('%02x', b) }.join(':')]
end
check(hw_got == hw_want, "GetIfAddrs hardware addresses equal Socket.getifaddrs: #{hw_got}")

# ---- error cases with their errno.
closed = TCPServer.new('127.0.0.1', 0)
cport = closed.addr[1]
closed.close
r2 = stub.socket(SB::SocketRequest.new(family: :AF_INET, type: :SOCK_STREAM), metadata: md, deadline: dl)
r = stub.connect(SB::ConnectRequest.new(handle: r2.handle, address: inet4('127.0.0.1', cport)),
                 metadata: md, deadline: dl)
native = begin
  TCPSocket.new('127.0.0.1', cport).close
  nil
rescue SystemCallError => e
  e.class
end
check(r.error == :ECONNREFUSED && native == Errno::ECONNREFUSED,
      "Connect to a closed port is #{r.error}, as Ruby's own connect (#{native})")
r = stub.send(SB::SendRequest.new(handle: r2.handle, data: 'x'), metadata: md, deadline: dl)
check(r.error == :EPIPE || r.error == :ENOTCONN, "Send on the refused socket is #{r.error}")

begin
  stub.close(SB::CloseRequest.new(handle: r2.handle + 1_000_000), metadata: md, deadline: dl)
  check(false, 'an unknown handle is refused')
rescue GRPC::NotFound => e
  check(e.metadata['sb-errno'] == SB::Errno::EBADF.to_s,
        "an unknown handle is NOT_FOUND with sb-errno EBADF (#{e.details})")
end
begin
  stub.socket(SB::SocketRequest.new(family: :AF_INET, type: :SOCK_STREAM), deadline: dl)
  check(false, 'a socket call without a session is refused')
rescue GRPC::Unauthenticated => e
  check(e.metadata['sb-errno'] == SB::Errno::EACCES.to_s,
        'a socket call without a session is UNAUTHENTICATED with sb-errno EACCES')
end

# ---- the end of the session ends the lease stream.
stub.close_session(SB::CloseSessionRequest.new, metadata: md, deadline: dl)
last = Timeout.timeout(10) { events.pop }
last = Timeout.timeout(10) { events.pop } while last.is_a?(SB::SessionEvent)
check(last == :end || last.is_a?(GRPC::Cancelled), "CloseSession ends the lease stream (#{last.inspect[0, 60]})")
lease_thread.join(5)

puts "#{$passed} passed, #{$fails} failed"
exit($fails.zero? ? 0 : 1)
