"""Word letters: find and check the templates, build the French context, render fast.

Templates are edited in Word by people who never saw Jinja, so every problem is found before
any letter is written and explained in French with the template, the text around the tag and
what to do. The variables are data: the checks, the ``modeles --variables`` listing and
``templates_word/VARIABLES.md`` all come from one catalogue.

Modules, in the order a letter goes through them:

* ``variables``: the variable catalogue (``VARIABLES``) and its listing;
* ``templates``: where the templates are, each one read, checked and compiled once;
* ``checks``: the template checker and its French problems;
* ``docx``: Word's XML for docxtpl, and the deterministic zip writer;
* ``context``: the template variables of one letter, and sample letters;
* ``filenames``: Windows-safe, unique file names;
* ``rendering``: ``render_letters``, in one or two processes.
"""

from __future__ import annotations

from .checks import TemplateProblem, suggest_variable
from .context import (
    SAMPLE_SOCIETE,
    clean_text,
    legal_mentions_warning,
    letter_context,
    sample_contexts,
    sample_letter,
)
from .docx import normalise_tag_text, patch_part_xml
from .filenames import MAX_FILENAME, letter_filename, letter_filenames, safe_filename_part
from .rendering import RenderResult, render_letters
from .templates import (
    WHAT_TO_DO,
    PreparedTemplate,
    check_templates,
    default_templates_dir,
    prepare_template,
    require_templates,
    template_warnings,
)
from .variables import VARIABLES, Variable, variables_table

__all__ = [
    "MAX_FILENAME",
    "SAMPLE_SOCIETE",
    "VARIABLES",
    "WHAT_TO_DO",
    "PreparedTemplate",
    "RenderResult",
    "TemplateProblem",
    "Variable",
    "check_templates",
    "clean_text",
    "default_templates_dir",
    "legal_mentions_warning",
    "letter_context",
    "letter_filename",
    "letter_filenames",
    "normalise_tag_text",
    "patch_part_xml",
    "prepare_template",
    "render_letters",
    "require_templates",
    "safe_filename_part",
    "sample_contexts",
    "sample_letter",
    "suggest_variable",
    "template_warnings",
    "variables_table",
]
