package org.polypi.cli;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.polypi.engine.net.KeyMaterial;
import org.polypi.engine.net.NetworkProfile;
import org.polypi.engine.net.TcpOptions;
import org.polypi.engine.transport.Party;
import picocli.CommandLine.Option;

/** The network options every role shares: key material or plaintext, emulated profile, timeouts. */
final class NetworkOptions
{
    /** Environment variable holding the key stores' password unless --password-env names another. */
    static final String DEFAULT_PASSWORD_ENV = "POLYPI_KEY_PASSWORD";

    @Option(names = "--keys", paramLabel = "DIR",
        description = "Folder with this role's key store and trust store (made by 'polypi keys'). Required unless " +
            "--plaintext.")
    Path keys;

    @Option(names = "--password-env", paramLabel = "VAR", defaultValue = DEFAULT_PASSWORD_ENV,
        description = "Environment variable holding the key stores' password (default: ${DEFAULT-VALUE}).")
    String passwordEnv;

    @Option(names = "--plaintext", description = "Disable TLS (explicitly: every party must say so).")
    boolean plaintext;

    @Option(names = "--profile", paramLabel = "lan|lan-1g|wan", defaultValue = "lan",
        description = "Emulated network for this party's sends: lan (none), lan-1g (0.5 ms, 1 Gbit/s), wan (50 ms, " +
            "400 Mbit/s). Default: ${DEFAULT-VALUE}.")
    String profile;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "30",
        description = "A peer silent for this long fails the session (default: ${DEFAULT-VALUE}).")
    double timeoutSeconds;

    @Option(names = "--connect-timeout", paramLabel = "SECONDS", defaultValue = "30",
        description = "Connecting to the peers (with retries) and the handshakes must finish within this " +
            "(default: ${DEFAULT-VALUE}).")
    double connectTimeoutSeconds;

    /** The transport options of {@code role}: TLS with its key material unless --plaintext. */
    TcpOptions tcp(final Party role) throws IOException
    {
        final TcpOptions.Builder b = TcpOptions.builder().timeout(seconds("--timeout", timeoutSeconds))
            .connectTimeout(seconds("--connect-timeout", connectTimeoutSeconds));
        if (plaintext)
        {
            if (keys != null)
            {
                throw new UsageException("--plaintext and --keys exclude each other");
            }
            return b.plaintext().build();
        }
        if (keys == null)
        {
            throw new UsageException("TLS needs --keys DIR (made by 'polypi keys --out DIR'), or disable it " +
                "explicitly with --plaintext");
        }
        if (!Files.isDirectory(keys))
        {
            throw new UsageException("--keys " + keys + ": no such folder");
        }
        final String password = System.getenv(passwordEnv);
        if (password == null || password.isEmpty())
        {
            throw new UsageException("the key stores' password must be in the environment variable " + passwordEnv);
        }
        return b.tls(KeyMaterial.open(keys, password.toCharArray()).sslContext(role)).build();
    }

    /** The emulated profile. */
    NetworkProfile profile()
    {
        return profileByName(profile);
    }

    /** The profile named by {@code --profile}. */
    static NetworkProfile profileByName(final String name)
    {
        try
        {
            return NetworkProfile.byName(name);
        }
        catch (final IllegalArgumentException e)
        {
            throw new UsageException("--profile " + name + ": expected lan, lan-1g or wan");
        }
    }

    /** "TLS 1.3" or "plaintext", for the start line. */
    String security()
    {
        return plaintext ? "plaintext (TLS disabled)" : "TLS 1.3, mutual authentication";
    }

    static Duration seconds(final String name, final double value)
    {
        if (!(value > 0) || value > Duration.ofDays(1).toSeconds())
        {
            throw new UsageException(name + " must be a positive number of seconds up to a day, was " + value);
        }
        return Duration.ofNanos((long)(value * 1e9));
    }

    /** Parses {@code host:port}, {@code :port} or {@code port} ({@code defaultHost} then). */
    static InetSocketAddress address(final String name, final String value, final String defaultHost)
    {
        final int colon = value.lastIndexOf(':');
        final String host = colon < 0 ? defaultHost : colon == 0 ? defaultHost : value.substring(0, colon);
        final String portText = colon < 0 ? value : value.substring(colon + 1);
        final int port;
        try
        {
            port = Integer.parseInt(portText);
        }
        catch (final NumberFormatException e)
        {
            throw new UsageException(name + " " + value + ": expected HOST:PORT");
        }
        if (port < 0 || port > 0xFFFF)
        {
            throw new UsageException(name + " " + value + ": port must be 0..65535");
        }
        final String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        return new InetSocketAddress(bare, port);
    }
}
