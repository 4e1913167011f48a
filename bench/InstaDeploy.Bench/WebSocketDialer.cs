using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;

namespace InstaDeploy.Bench;

/// <summary>
/// A minimal WebSocket client handshake over a raw socket bound to a chosen loopback source address. ClientWebSocket
/// cannot pick its source address, and one source address has only ~28,000 ephemeral ports towards one server port:
/// a reconnect storm of 10,000 agents (plus the sockets of the previous run in TIME_WAIT) needs more than one.
/// It is also lighter than ClientWebSocket (no HttpClient stack per connection), so the simulator's own footprint
/// and CPU stay small next to the control plane it measures.
/// </summary>
internal static class WebSocketDialer
{
    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();

    public static async Task<WebSocket> ConnectAsync(IPEndPoint server, IPAddress source, string agentId, string token, bool reliable, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(server, cancellationToken);
            var stream = new NetworkStream(socket, ownsSocket: true);
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            var request = $"GET /ws HTTP/1.1\r\nHost: {server}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n" +
                $"X-Agent-Version: bench\r\nX-Agent-Architecture: linux-amd64\r\nX-Agent-Hostname: {agentId}\r\n" +
                (reliable ? "X-InstaDeploy-Agent-Features: reliable-delivery\r\n" : "") + "\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request), cancellationToken);

            var buffer = new byte[2048];
            var length = 0;
            int end;
            while ((end = buffer.AsSpan(0, length).IndexOf(HeaderEnd)) < 0)
            {
                if (length == buffer.Length) throw new IOException("handshake response headers too long");
                var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0) throw new IOException("connection closed during the handshake");
                length += read;
            }
            var head = Encoding.ASCII.GetString(buffer, 0, end);
            if (!head.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
                throw new IOException("handshake refused: " + head[..Math.Min(head.Length, 40)]);
            // The server writes nothing after the 101 until the agent speaks (AGENT_STATE) or its first ping is due,
            // so there are no bytes of a frame to hand over.
            if (end + HeaderEnd.Length != length) throw new IOException("unexpected bytes after the handshake");
            return WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
