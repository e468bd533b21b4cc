package org.polypi.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.polypi.engine.net.KeyMaterial;
import org.polypi.engine.transport.Party;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code polypi keys --out DIR}: the TLS material of one deployment. */
@Command(name = "keys", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Generate the TLS material of a deployment: per role an EC P-256 key with a self-signed " +
        "certificate (ROLE.p12) and a trust store pinning exactly the two peers' certificates (ROLE-trust.p12).",
        "Copy server.p12 + server-trust.p12 to the server host, client.* to the client, dealer.* to the dealer.",
        "The password is read from the environment (--password-env), never from the command line."})
final class KeysCommand implements Callable<Integer>
{
    @ParentCommand
    Main main;

    @Option(names = "--out", paramLabel = "DIR", required = true, description = "Folder to write (created; " +
        "existing files are never overwritten).")
    Path out;

    @Option(names = "--deployment", paramLabel = "NAME", defaultValue = "polypi",
        description = "Name of the deployment in the certificates (default: ${DEFAULT-VALUE}).")
    String deployment;

    @Option(names = "--password-env", paramLabel = "VAR", defaultValue = NetworkOptions.DEFAULT_PASSWORD_ENV,
        description = "Environment variable holding the stores' password, at least " +
            KeyMaterial.MIN_PASSWORD_LENGTH + " characters (default: ${DEFAULT-VALUE}).")
    String passwordEnv;

    @Option(names = "--days", paramLabel = "N", defaultValue = "365", description = "Validity of the certificates " +
        "(default: ${DEFAULT-VALUE}).")
    int days;

    @Override
    public Integer call() throws Exception
    {
        final String password = System.getenv(passwordEnv);
        if (password == null || password.length() < KeyMaterial.MIN_PASSWORD_LENGTH)
        {
            throw new UsageException("set the environment variable " + passwordEnv + " to a password of at least " +
                KeyMaterial.MIN_PASSWORD_LENGTH + " characters");
        }
        if (days < 1)
        {
            throw new UsageException("--days must be >= 1, was " + days);
        }
        Files.createDirectories(out);
        final KeyMaterial k = KeyMaterial.generate(out, deployment, password.toCharArray(), Duration.ofDays(days));
        for (final Party p : Party.values())
        {
            main.out().println(p.name().toLowerCase(Locale.ROOT) + " host: " + k.keyStore(p) + " " +
                k.trustStore(p));
        }
        return 0;
    }
}
