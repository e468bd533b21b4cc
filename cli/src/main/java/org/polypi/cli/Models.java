package org.polypi.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import org.polypi.model.ModelFormat;
import org.polypi.model.ModelFormatException;
import org.polypi.model.ModelGraph;
import org.polypi.model.ModelHeader;

/** Reading model files with errors that name the file. */
final class Models
{
    private Models()
    {
    }

    /** Reads {@code file} (option {@code name}); a missing or malformed file is one clear line. */
    static ModelGraph read(final String name, final Path file) throws IOException
    {
        if (!Files.isRegularFile(file))
        {
            throw new UsageException(name + " " + file + ": no such file");
        }
        try
        {
            return ModelFormat.read(file);
        }
        catch (final ModelFormatException e)
        {
            throw new UsageException(name + " " + file + ": not a PolyPI model file: " + e.getMessage());
        }
        catch (final NoSuchFileException e)
        {
            throw new UsageException(name + " " + file + ": no such file");
        }
    }

    /** The fractional bits to run at: the option if given, else the model header's. */
    static int bits(final Integer option, final ModelGraph model)
    {
        final int f = option != null ? option : model.header().fractionalBits();
        if (f < 1 || f > ModelHeader.MAX_FRACTIONAL_BITS)
        {
            throw new UsageException("--bits must be 1.." + ModelHeader.MAX_FRACTIONAL_BITS +
                ", was " + f);
        }
        return f;
    }
}
