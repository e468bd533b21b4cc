package org.polypi.engine.net;

/**
 * Traffic of a {@link TcpTransport} beyond the payload bytes its {@link org.polypi.engine.transport.CostMeter}
 * counts.
 *
 * @param frameBytesSent      header and payload bytes of the protocol messages sent (each message is one frame of
 *                            {@value FrameHeader#LENGTH} header bytes plus its payload).
 * @param frameBytesReceived  the same for messages received.
 * @param socketBytesSent     every byte written to the sockets: frames, handshakes, and TLS records and handshakes
 *                            when TLS is on.
 * @param socketBytesReceived every byte read from the sockets.
 */
public record WireStats(long frameBytesSent, long frameBytesReceived, long socketBytesSent, long socketBytesReceived)
{
    /** No traffic. */
    public static final WireStats ZERO = new WireStats(0, 0, 0, 0);

    /** The sum of this and {@code o}. */
    public WireStats plus(final WireStats o)
    {
        return new WireStats(frameBytesSent + o.frameBytesSent, frameBytesReceived + o.frameBytesReceived,
            socketBytesSent + o.socketBytesSent, socketBytesReceived + o.socketBytesReceived);
    }
}
