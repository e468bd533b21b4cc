package org.polypi.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.polypi.cli.ChildProcess;
import org.polypi.engine.net.KeyMaterial;
import org.polypi.engine.net.TcpOptions;
import org.polypi.engine.transport.Party;

/**
 * {@code polypi dealer} and {@code polypi server} as child JVMs of the bench (the same java binary, class path and
 * module flags), with TLS key material generated for the run in a temporary folder: what {@code polypi demo} and
 * the cli's process tests do, for the bench's mains. The children watch their standard input
 * ({@code --watch-parent}) and exit when it closes, so none outlives the bench; {@link #close()} closes it, destroys
 * what is still running and deletes the keys.
 */
final class RoleProcesses implements AutoCloseable
{
    private static final Pattern LISTENING = Pattern.compile("listening on (\\S+?),");
    private static final Pattern RSS = Pattern.compile("^VmRSS:\\s+(\\d+)\\s+kB");
    private static final String PASSWORD_ENV = "POLYPI_KEY_PASSWORD";
    private static final int PASSWORD_BYTES = 18;
    private static final long BYTES_PER_KIB = 1024;

    private final Path work;
    private final boolean tls;
    private final Duration timeout;
    private final String password;
    private final KeyMaterial keys;
    private final List<Child> children = new ArrayList<>();
    private final List<String> childOptions;

    /**
     * A folder for keys and model files, and key material for every role unless {@code tls} is false.
     *
     * @param timeout receive and connect timeout of every party, and the limit for a child to start.
     */
    RoleProcesses(final boolean tls, final Duration timeout) throws IOException
    {
        this(tls, timeout, List.of());
    }

    /** As {@link #RoleProcesses(boolean, Duration)} with extra JVM options for the children (e.g. a heap limit). */
    RoleProcesses(final boolean tls, final Duration timeout, final List<String> childOptions) throws IOException
    {
        this.childOptions = List.copyOf(childOptions);
        this.work = Files.createTempDirectory("polypi-bench-roles-");
        this.tls = tls;
        this.timeout = timeout;
        if (tls)
        {
            final byte[] secret = new byte[PASSWORD_BYTES];
            new SecureRandom().nextBytes(secret);
            password = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
            keys = KeyMaterial.generate(work.resolve("keys"), "polypi-bench", password.toCharArray());
        }
        else
        {
            password = "";
            keys = null;
        }
    }

    /** The temporary folder (deleted on close). */
    Path work()
    {
        return work;
    }

    /** True if the parties talk TLS 1.3 with mutual authentication. */
    boolean tls()
    {
        return tls;
    }

    /** "TLS 1.3 (mutual authentication, pinned certificates)" or "plaintext TCP (TLS off)". */
    String security()
    {
        return tls ? "TLS 1.3 (mutual authentication, pinned certificates)" : "plaintext TCP (TLS off)";
    }

    /** The client's transport options in this JVM (the client's key material, or plaintext). */
    TcpOptions clientOptions() throws IOException
    {
        final TcpOptions.Builder b = TcpOptions.builder().timeout(timeout).connectTimeout(timeout);
        return tls ? b.tls(keys.sslContext(Party.CLIENT)).build() : b.plaintext().build();
    }

    /**
     * Starts {@code polypi dealer} for the model whose public description is {@code publicModel}.
     *
     * @param sessions sessions after which it exits (0: until closed).
     */
    Child dealer(final Path publicModel, final int bits, final long sessions) throws IOException,
        InterruptedException
    {
        return start("dealer", List.of("dealer", "--model", publicModel.toString(), "--bits", Integer.toString(bits),
            "--listen", "127.0.0.1:0", "--sessions", Long.toString(sessions)));
    }

    /** Starts {@code polypi server} for {@code model} using {@code dealer}. */
    Child server(final Path model, final int bits, final Child dealer, final long sessions) throws IOException,
        InterruptedException
    {
        return start("server", List.of("server", "--model", model.toString(), "--bits", Integer.toString(bits),
            "--listen", "127.0.0.1:0", "--dealer", hostPort(dealer.address()), "--sessions",
            Long.toString(sessions), "--max-sessions", "1"));
    }

    private Child start(final String role, final List<String> args) throws IOException, InterruptedException
    {
        final List<String> all = new ArrayList<>(args);
        all.addAll(List.of("--timeout", seconds(timeout), "--connect-timeout", seconds(timeout), "--watch-parent"));
        if (tls)
        {
            all.addAll(List.of("--keys", work.resolve("keys").toString()));
        }
        else
        {
            all.add("--plaintext");
        }
        final Child c = new Child(role, ChildProcess.start("polypi " + role, List.of(), childOptions, all,
            tls ? Map.of(PASSWORD_ENV, password) : Map.of(), line -> { }));
        children.add(c);
        final Matcher m = c.process.await(LISTENING, timeout);
        c.address = address(m.group(1));
        return c;
    }

    private static String seconds(final Duration d)
    {
        return String.format(Locale.ROOT, "%.3f", d.toNanos() / 1e9);
    }

    static String hostPort(final InetSocketAddress a)
    {
        return a.getHostString() + ":" + a.getPort();
    }

    private static InetSocketAddress address(final String hostPort)
    {
        final int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    /** Closes every child still running and deletes the temporary folder. */
    @Override
    public void close()
    {
        for (final Child c : children)
        {
            c.close();
        }
        try (Stream<Path> s = Files.walk(work))
        {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        catch (final IOException e)
        {
            // Temporary files only.
        }
    }

    /** One role's child JVM ({@link ChildProcess}), with the address it listens on and its resident memory. */
    static final class Child implements AutoCloseable
    {
        private final String role;
        private final ChildProcess process;
        private InetSocketAddress address;

        private Child(final String role, final ChildProcess process)
        {
            this.role = role;
            this.process = process;
        }

        /** The role's name. */
        String role()
        {
            return role;
        }

        /** The process id. */
        long pid()
        {
            return process.pid();
        }

        /** Where it listens. */
        InetSocketAddress address()
        {
            return address;
        }

        /** True while the process runs. */
        boolean alive()
        {
            return process.alive();
        }

        /** Resident memory in bytes (VmRSS of /proc/PID/status), or -1 if it cannot be read. */
        long residentBytes()
        {
            try
            {
                for (final String l : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"),
                    StandardCharsets.US_ASCII))
                {
                    final Matcher m = RSS.matcher(l);
                    if (m.find())
                    {
                        return Long.parseLong(m.group(1)) * BYTES_PER_KIB;
                    }
                }
            }
            catch (final IOException e)
            {
                // Not Linux, or the process is gone.
            }
            return -1;
        }

        /** Every output line so far. */
        List<String> lines()
        {
            return process.lines();
        }

        /** Waits for the process to exit; its status, or fails with the last lines after {@code limit}. */
        int waitFor(final Duration limit) throws InterruptedException
        {
            return process.waitFor(limit);
        }

        /** An error naming the child with its last output lines. */
        IllegalStateException failure(final String what)
        {
            return process.failure(what);
        }

        @Override
        public String toString()
        {
            return "polypi " + role + " (pid " + process.pid() + ")";
        }

        /** Closes its standard input (the order to exit), then destroys it if it is still running. */
        @Override
        public void close()
        {
            process.close();
        }
    }
}
