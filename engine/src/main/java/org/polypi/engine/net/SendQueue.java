package org.polypi.engine.net;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.TransportException;

/**
 * The send side of one connection: frames are copied into off-heap chunks, which a dedicated I/O thread writes to
 * the socket, so that sending overlaps computing and the caller may reuse its segment as soon as {@link #send}
 * returns.
 * <p>
 * <b>Handoff.</b> A bounded handoff of whole chunks under one lock (not a ring buffer): a message of up to 1 GiB is
 * streamed in chunks of 1 MiB or more, each filled by the sender while the I/O thread writes the previous ones with
 * one gathering write per batch; the handoff costs one lock per chunk, not per byte. Memory is bounded by
 * {@link TcpOptions#sendBufferLimit()}; a send blocks (with the timeout) only beyond it.
 * <p>
 * <b>Small frames</b> are appended to a shared tail chunk. If no one is writing, the sender writes the tail itself
 * with one non-blocking system call (no thread handoff on the latency path of a round); what the socket does not
 * take goes to the I/O thread. If the I/O thread is busy, frames accumulate in the tail and leave together in its
 * next write: the messages of a round are batched, and nothing ever waits for a flush that might not come.
 * <p>
 * <b>Writer token.</b> {@link #writerBusy} ensures one writer at a time (sender fast path or I/O thread), so TLS
 * records and plain bytes never interleave.
 */
final class SendQueue
{
    /** Chunks per gathering write (16 MiB at the default chunk size). */
    private static final int MAX_BATCH = 16;
    /** Free chunks kept for reuse; more are left to the garbage collector. */
    private static final int RETAINED_CHUNKS = 8;
    /** Frames up to chunk / this go to the shared tail chunk, larger ones into chunks of their own. */
    private static final int SMALL_FRAME_DIVISOR = 16;

    private final Party self;
    private final Party peer;
    private final Conduit conduit;
    private final long sessionId;
    private final int chunkBytes;
    private final int smallFrameLimit;
    private final long limit;
    private final long timeoutNs;
    private final Thread thread;

    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when there is something to write or the writer token is free. */
    private final Condition work = lock.newCondition();
    /** Signalled when bytes left the queue, or it failed or closed. */
    private final Condition space = lock.newCondition();
    private final ArrayDeque<Chunk> queue = new ArrayDeque<>();
    private final ArrayDeque<Chunk> free = new ArrayDeque<>();
    private Chunk tail;
    private long pendingBytes;
    private boolean writerBusy;
    private boolean closing;
    private boolean aborted;
    /** A large frame is being streamed in pieces (the lock is released between them). */
    private boolean producerActive;
    private Throwable failure;
    private int nextSequence;
    private long frameBytesSent;

    SendQueue(final Party self, final Party peer, final Conduit conduit, final long sessionId,
              final int firstSequence, final TcpOptions options)
    {
        this.self = self;
        this.peer = peer;
        this.conduit = conduit;
        this.sessionId = sessionId;
        this.nextSequence = firstSequence;
        this.chunkBytes = options.chunkBytes();
        this.smallFrameLimit = options.chunkBytes() / SMALL_FRAME_DIVISOR;
        this.limit = options.sendBufferLimit();
        this.timeoutNs = options.timeout().toNanos();
        this.thread = Thread.ofPlatform().daemon().name("polypi-tcp-" + self + "->" + peer).unstarted(this::run);
    }

    /** Starts the I/O thread. */
    void start()
    {
        thread.start();
    }

    /**
     * Frames {@code payload} as one {@code type} frame and queues it.
     *
     * @throws TransportException if the connection failed or closed, or the peer stopped reading for the timeout.
     */
    void send(final byte type, final MemorySegment payload)
    {
        final long frame = FrameHeader.LENGTH + payload.byteSize();
        if (frame <= smallFrameLimit)
        {
            sendSmall(type, payload, (int)frame);
        }
        else
        {
            sendLarge(type, payload);
        }
    }

    private void sendSmall(final byte type, final MemorySegment payload, final int frame)
    {
        Chunk direct = null;
        lock.lock();
        try
        {
            awaitSpace(frame);
            if (tail == null || tail.room() < frame)
            {
                if (tail != null)
                {
                    queue.add(tail.seal());
                }
                tail = takeChunk();
            }
            final int mark = tail.buffer.position();
            try
            {
                tail.putHeader(type, nextSequence, sessionId, payload.byteSize());
                tail.putPayload(payload, 0, payload.byteSize());
            }
            catch (final RuntimeException e)
            {
                tail.buffer.position(mark); // an unreadable segment (its arena closed): the frame never existed
                throw e;
            }
            nextSequence++;
            pendingBytes += frame;
            countFrame(type, frame);
            if (!writerBusy && queue.isEmpty())
            {
                direct = tail.seal();
                tail = null;
                writerBusy = true;
            }
            else
            {
                work.signal();
            }
        }
        finally
        {
            lock.unlock();
        }
        if (direct != null)
        {
            writeDirect(direct);
        }
    }

    private void writeDirect(final Chunk chunk)
    {
        boolean done = false;
        Throwable error = null;
        try
        {
            done = conduit.tryWrite(chunk.buffer);
        }
        catch (final IOException | RuntimeException e)
        {
            error = e;
        }
        lock.lock();
        try
        {
            writerBusy = false;
            if (error != null)
            {
                fail(error);
                throw failed("sending");
            }
            if (done)
            {
                release(chunk);
            }
            else
            {
                queue.addFirst(chunk);
            }
            work.signal();
        }
        finally
        {
            lock.unlock();
        }
    }

    private void sendLarge(final byte type, final MemorySegment payload)
    {
        final long size = payload.byteSize();
        long offset = 0;
        boolean first = true;
        try
        {
            while (first || offset < size)
            {
                final int header = first ? FrameHeader.LENGTH : 0;
                final int piece = (int)Math.min(size - offset, chunkBytes - header);
                final Chunk c;
                final int sequence;
                lock.lock();
                try
                {
                    awaitSpace(header + piece);
                    if (first)
                    {
                        producerActive = true;
                        if (tail != null)
                        {
                            queue.add(tail.seal()); // frames before this one leave first
                            tail = null;
                        }
                    }
                    c = takeChunk();
                    pendingBytes += header + piece;
                    sequence = first ? nextSequence++ : 0;
                }
                finally
                {
                    lock.unlock();
                }
                // The chunk is ours until queued: copy without holding the lock, so the I/O thread keeps writing.
                try
                {
                    if (first)
                    {
                        c.putHeader(type, sequence, sessionId, size);
                    }
                    c.putPayload(payload, offset, piece);
                }
                catch (final RuntimeException e)
                {
                    // Part of the frame may be queued already: the stream cannot be repaired, so it stops here.
                    lock.lock();
                    try
                    {
                        fail(e);
                        aborted = true;
                    }
                    finally
                    {
                        lock.unlock();
                    }
                    throw e;
                }
                lock.lock();
                try
                {
                    if (first)
                    {
                        countFrame(type, FrameHeader.LENGTH + size);
                    }
                    queue.add(c.seal());
                    work.signal();
                }
                finally
                {
                    lock.unlock();
                }
                offset += piece;
                first = false;
            }
        }
        finally
        {
            lock.lock();
            try
            {
                producerActive = false;
            }
            finally
            {
                lock.unlock();
            }
        }
    }

    /** Asks for a write even with nothing queued (TLS wants to send a post-handshake message). */
    void kick()
    {
        lock.lock();
        try
        {
            if (!closing && !aborted)
            {
                queue.add(takeChunk().seal());
                work.signal();
            }
        }
        finally
        {
            lock.unlock();
        }
    }

    /**
     * Queues a CLOSE frame after everything sent so far; no frame may follow, and the I/O thread ends once all is
     * written.
     *
     * @return false if a close frame cannot be sent cleanly (the send path failed, or another thread is in the middle
     *         of streaming a large message, which the CLOSE frame would cut in two): the caller aborts instead.
     */
    boolean finishWithClose()
    {
        lock.lock();
        try
        {
            if (producerActive || failure != null || aborted || closing)
            {
                return false;
            }
            if (tail == null || tail.room() < FrameHeader.LENGTH)
            {
                if (tail != null)
                {
                    queue.add(tail.seal());
                }
                tail = takeChunk();
            }
            tail.putHeader(FrameHeader.TYPE_CLOSE, nextSequence++, sessionId, 0);
            pendingBytes += FrameHeader.LENGTH;
            closing = true;
            work.signalAll();
            space.signalAll();
            return true;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Stops the I/O thread without writing what is left (the caller closes the socket to end a blocked write). */
    void abort()
    {
        lock.lock();
        try
        {
            aborted = true;
            work.signalAll();
            space.signalAll();
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Waits until the I/O thread ended; true if it did before {@code deadlineNs}. */
    boolean awaitStopped(final long deadlineNs) throws InterruptedException
    {
        final long left = deadlineNs - System.nanoTime();
        if (left > 0)
        {
            thread.join(Duration.ofNanos(left));
        }
        return !thread.isAlive();
    }

    /** Whether the send path failed (the socket broke or stalled). */
    boolean hasFailed()
    {
        lock.lock();
        try
        {
            return failure != null;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Header and payload bytes of the DATA frames queued so far. */
    long frameBytesSent()
    {
        lock.lock();
        try
        {
            return frameBytesSent;
        }
        finally
        {
            lock.unlock();
        }
    }

    private void run()
    {
        final Chunk[] batch = new Chunk[MAX_BATCH];
        final ByteBuffer[] buffers = new ByteBuffer[MAX_BATCH];
        try
        {
            while (true)
            {
                int n = 0;
                lock.lock();
                try
                {
                    while (true)
                    {
                        if (aborted)
                        {
                            return;
                        }
                        final boolean hasWork = !queue.isEmpty() || tail != null && tail.hasData();
                        if (!writerBusy && hasWork)
                        {
                            break;
                        }
                        if (!writerBusy && closing)
                        {
                            return; // everything, the CLOSE frame included, is written
                        }
                        work.await();
                    }
                    if (queue.size() < MAX_BATCH && tail != null && tail.hasData())
                    {
                        queue.add(tail.seal());
                        tail = null;
                    }
                    while (n < MAX_BATCH && !queue.isEmpty())
                    {
                        batch[n] = queue.poll();
                        buffers[n] = batch[n].buffer;
                        n++;
                    }
                    writerBusy = true;
                }
                finally
                {
                    lock.unlock();
                }
                final boolean written = conduit.writeAll(buffers, n, timeoutNs, Long.MAX_VALUE);
                lock.lock();
                try
                {
                    writerBusy = false;
                    if (!written)
                    {
                        throw new TransportException(self + ": " + peer + " stopped reading (" +
                            Text.bytes(pendingBytes) + " waiting to be sent after " +
                            Text.duration(Duration.ofNanos(timeoutNs)) + ")");
                    }
                    for (int i = 0; i < n; i++)
                    {
                        release(batch[i]);
                        batch[i] = null;
                        buffers[i] = null;
                    }
                    space.signalAll();
                }
                finally
                {
                    lock.unlock();
                }
            }
        }
        catch (final IOException | RuntimeException e)
        {
            lock.lock();
            try
            {
                writerBusy = false;
                if (!aborted)
                {
                    fail(e);
                }
            }
            finally
            {
                lock.unlock();
            }
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }

    /** Under the lock: waits until {@code bytes} more may be queued. */
    private void awaitSpace(final long bytes)
    {
        long left = timeoutNs;
        while (true)
        {
            if (failure != null)
            {
                throw failed("sending");
            }
            if (closing || aborted)
            {
                throw new TransportException(self + ": cannot send to " + peer + ", this transport is closed");
            }
            if (pendingBytes == 0 || pendingBytes + bytes <= limit)
            {
                return;
            }
            if (left <= 0)
            {
                throw new TransportException(self + ": " + peer + " stopped reading (" + Text.bytes(pendingBytes) +
                    " waiting to be sent after " + Text.duration(Duration.ofNanos(timeoutNs)) + ")");
            }
            try
            {
                left = space.awaitNanos(left);
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
                throw new TransportException(self + ": interrupted while sending to " + peer, e);
            }
        }
    }

    /** Under the lock: records the first failure and wakes everyone. */
    private void fail(final Throwable e)
    {
        if (failure == null)
        {
            failure = e;
        }
        work.signalAll();
        space.signalAll();
    }

    /** Under the lock: the exception for a failed send path. */
    private TransportException failed(final String doing)
    {
        if (failure instanceof final TransportException t)
        {
            return new TransportException(t.getMessage(), t);
        }
        return new TransportException(self + ": connection to " + peer + " failed while " + doing + ": " +
            failure.getMessage(), failure);
    }

    private void countFrame(final byte type, final long bytes)
    {
        if (type == FrameHeader.TYPE_DATA)
        {
            frameBytesSent += bytes;
        }
    }

    /** Under the lock. */
    private Chunk takeChunk()
    {
        final Chunk c = free.poll();
        return c != null ? c : new Chunk(chunkBytes);
    }

    /** Under the lock: a chunk was written; its bytes leave the budget and it is reused or dropped. */
    private void release(final Chunk c)
    {
        pendingBytes -= c.size;
        c.reset();
        if (free.size() < RETAINED_CHUNKS)
        {
            free.add(c);
        }
        space.signalAll();
    }

    /** An off-heap buffer of the send path, seen both as a {@link ByteBuffer} (for the socket) and a segment. */
    private static final class Chunk
    {
        private final ByteBuffer buffer;
        private final MemorySegment segment;
        /** Bytes of frames in the chunk once sealed. */
        private int size;

        Chunk(final int bytes)
        {
            this.buffer = ByteBuffer.allocateDirect(bytes);
            this.segment = MemorySegment.ofBuffer(buffer);
        }

        int room()
        {
            return buffer.remaining();
        }

        boolean hasData()
        {
            return buffer.position() > 0;
        }

        void putHeader(final byte type, final int sequence, final long sessionId, final long payloadLength)
        {
            FrameHeader.write(segment, buffer.position(), type, sequence, sessionId, payloadLength);
            buffer.position(buffer.position() + FrameHeader.LENGTH);
        }

        void putPayload(final MemorySegment payload, final long offset, final long length)
        {
            MemorySegment.copy(payload, offset, segment, buffer.position(), length);
            buffer.position(buffer.position() + (int)length);
        }

        /** Ends filling: the buffer now holds the frames for writing. */
        Chunk seal()
        {
            size = buffer.position();
            buffer.flip();
            return this;
        }

        void reset()
        {
            buffer.clear();
            size = 0;
        }
    }
}
