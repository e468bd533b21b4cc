package org.polypi.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code polypi demo}: the main job, see {@link Demo}. */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Private inference end to end on this machine: generates TLS keys, starts dealer, server and " +
        "client as three separate processes on loopback, privately classifies bundled Fashion-MNIST test images " +
        "with the co-designed polynomial W2 network and with its ReLU version, and prints accuracy, agreement with " +
        "the plaintext model, latency, bytes and rounds of both.",
        "Needs nothing but the repository. Exit status 0 only if every private prediction agrees with the " +
            "plaintext fixed-point model."})
final class DemoCommand implements Callable<Integer>
{
    /**
     * The trained co-designed W2 model, relative to the repository: the PILLAR model whose every test-set activation
     * input stays inside its polynomial's range (trainer/results-notes.md).
     */
    static final String DEFAULT_MODEL = "trainer/models/w2-pillar4-tail-kd-e60.pim";
    /** The trained ReLU W2 model, relative to the repository. */
    static final String DEFAULT_RELU_MODEL = "trainer/models/w2-relu.pim";

    @ParentCommand
    Main main;

    @Option(names = "--model", paramLabel = "FILE",
        description = "The polynomial model (default: " + DEFAULT_MODEL + "; untrained W2 if it is missing).")
    Path model;

    @Option(names = "--relu-model", paramLabel = "FILE",
        description = "Its ReLU version (default: " + DEFAULT_RELU_MODEL + "; untrained W2 if it is missing).")
    Path reluModel;

    @Option(names = "--no-relu", description = "Skip the ReLU network.")
    boolean noRelu;

    @Option(names = "--images", paramLabel = "N", defaultValue = "50",
        description = "Bundled test images to classify, 1..500 (default: ${DEFAULT-VALUE}).")
    int images;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "1",
        description = "Images per query (default: ${DEFAULT-VALUE}: latency per image).")
    int batch;

    @Option(names = "--profile", paramLabel = "lan|lan-1g|wan", defaultValue = "lan",
        description = "Emulated network between the processes (default: ${DEFAULT-VALUE}).")
    String profile;

    @Option(names = "--plaintext", description = "Run without TLS (the demo uses TLS 1.3 unless this is given).")
    boolean plaintext;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "60",
        description = "Time limit of each network step and of each process start (default: ${DEFAULT-VALUE}).")
    double timeoutSeconds;

    @Override
    public Integer call() throws Exception
    {
        final Path home = Path.of(System.getProperty("polypi.home", "."));
        final Demo.Options o = new Demo.Options(
            model != null ? model : home.resolve(DEFAULT_MODEL), model == null,
            noRelu ? null : reluModel != null ? reluModel : home.resolve(DEFAULT_RELU_MODEL), reluModel == null,
            images, batch, NetworkOptions.profileByName(profile), plaintext,
            NetworkOptions.seconds("--timeout", timeoutSeconds));
        return new Demo(o, main.out()).run() ? 0 : Main.EXIT_FAILURE;
    }
}
