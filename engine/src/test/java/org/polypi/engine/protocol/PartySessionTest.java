package org.polypi.engine.protocol;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;
import org.polypi.engine.transport.InMemoryTransport;
import org.polypi.kernels.RingTensor;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Where a step's temporaries live: their own arena normally, the query's arena in a query session. */
final class PartySessionTest
{
    private static final long TEMP_BYTES = 64;

    @Test
    void temporariesOfAPlainSessionDieWithTheStep()
    {
        final InMemoryTransport[] t = InMemoryTransport.connectThree(ThreeParties.TIMEOUT);
        try (Arena arena = Arena.ofConfined())
        {
            final PartySession session = new PartySession(t[0], arena);
            final MemorySegment temp;
            try (Arena tmp = session.temporaries())
            {
                temp = tmp.allocate(TEMP_BYTES, RingTensor.ALIGNMENT_BYTES);
            }
            assertFalse(temp.scope().isAlive());
            assertTrue(arena.scope().isAlive());
        }
    }

    @Test
    void temporariesOfAQuerySessionLiveUntilTheQueryArenaCloses()
    {
        final InMemoryTransport[] t = InMemoryTransport.connectThree(ThreeParties.TIMEOUT);
        final MemorySegment temp;
        try (Arena connection = Arena.ofConfined(); Arena query = Arena.ofConfined())
        {
            final PartySession session = new PartySession(t[0], connection).forQuery(query);
            try (Arena tmp = session.temporaries())
            {
                temp = tmp.allocate(TEMP_BYTES, RingTensor.ALIGNMENT_BYTES);
            }
            assertTrue(temp.scope().isAlive(), "closing a borrowed arena must not free the query's memory");
            assertTrue(session.allocate(2).segment().scope().isAlive());
        }
        assertFalse(temp.scope().isAlive());
    }
}
