package org.polypi.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import org.polypi.onnx.ImportMain;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code polypi import}: the ONNX importer's command line, unchanged. */
@Command(name = "import", mixinStandardHelpOptions = true,
    description = {"Import an ONNX model (e.g. exported by PyTorch) into a .pim model file, checking its logits.",
        "Every option is the importer's; 'polypi import -- --help' lists them."})
final class ImportCommand implements Callable<Integer>
{
    @ParentCommand
    Main main;

    @Parameters(paramLabel = "OPTION", arity = "0..*", description = "The importer's options and files.")
    List<String> options = new ArrayList<>();

    @Override
    public Integer call()
    {
        final String[] all = options.toArray(String[]::new);
        return ImportMain.run(all, main.out(), main.err());
    }
}
