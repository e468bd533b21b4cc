package org.polypi.engine.net;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import org.polypi.engine.plan.Plan;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;

/**
 * What the client asks for when a session starts, sent to the server and to the dealer right after the connections
 * are made and before the engine's set-up: the batch size (items per query; the weight masks are drawn for it) and
 * the number of queries, so that all three walk the same number of queries and then end the session cleanly.
 * 16 bytes, little-endian: version (i32, 1), batch (i32), queries (i64).
 *
 * @param batch   items per query.
 * @param queries queries in the session.
 */
public record SessionRequest(int batch, long queries)
{
    /** Bytes on the wire. */
    public static final int BYTES = 16;
    /** Version of the request. */
    public static final int VERSION = 1;
    /** Largest batch a server accepts. */
    public static final int MAX_BATCH = 4096;
    /** Most queries in one session. */
    public static final long MAX_QUERIES = 1L << 32;
    /** The meter step of the request (in the set-up phase). */
    public static final String STEP = "request";

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int BATCH_OFFSET = 4;
    private static final int QUERIES_OFFSET = 8;

    /** Checks the ranges. */
    public SessionRequest
    {
        if (batch < 1 || batch > MAX_BATCH)
        {
            throw new IllegalArgumentException("batch must be in [1, " + MAX_BATCH + "], was " + batch);
        }
        if (queries < 1 || queries > MAX_QUERIES)
        {
            throw new IllegalArgumentException("queries must be in [1, " + MAX_QUERIES + "], was " + queries);
        }
    }

    /** The client sends the request to the server and the dealer. */
    public void send(final Transport transport)
    {
        transport.meter().enter(Plan.SETUP, STEP);
        final MemorySegment m = MemorySegment.ofArray(new byte[BYTES]);
        m.set(INT, 0, VERSION);
        m.set(INT, BATCH_OFFSET, batch);
        m.set(LONG, QUERIES_OFFSET, queries);
        transport.send(Party.SERVER, m);
        transport.send(Party.DEALER, m);
    }

    /**
     * The server or the dealer receives the client's request.
     *
     * @throws IllegalStateException naming the client and the bad field.
     */
    public static SessionRequest receive(final Transport transport)
    {
        transport.meter().enter(Plan.SETUP, STEP);
        final MemorySegment m = MemorySegment.ofArray(new byte[BYTES]);
        transport.receive(Party.CLIENT, m);
        final int version = m.get(INT, 0);
        if (version != VERSION)
        {
            throw new IllegalStateException(transport.self() + ": CLIENT sent a session request of version " +
                version + ", expected " + VERSION);
        }
        try
        {
            return new SessionRequest(m.get(INT, BATCH_OFFSET), m.get(LONG, QUERIES_OFFSET));
        }
        catch (final IllegalArgumentException e)
        {
            throw new IllegalStateException(transport.self() + ": CLIENT sent a bad session request: " +
                e.getMessage(), e);
        }
    }
}
