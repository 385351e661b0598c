"""Data for the story generator (``helpers.stories``): word lists, coined-name parts, templates.

- Data only: tuples of words or phrases, a few dicts, and templates with ``{slot}`` fields
  that ``helpers.story_generator`` fills (the logic: ``story_grammar`` inflects, ``story_names``
  coins names and draws them by Zipf's law).
- Real vocabulary: about 3,900 distinct English words, grouped so that any choice from a
  group fits its slot (``MOVES`` are things a character or an animal can do on its own,
  ``HANDLES`` are things one does to a small object, ``ADJS`` describe things, ``CHAR_ADJS``
  people). Irregular past tenses and plurals are listed here; regular ones follow rules.
- Coined names (the long tail): syllables and endings from which ``helpers.story_names`` builds
  tens of thousands of pronounceable names for people, pets, towns, landmarks, shopkeepers
  and made-up creatures, plants, treats and gadgets ("Rukesara", "Acornburgh", "kloly apple").
- Templates: each story section is a tuple of alternatives; each arc is a list of steps whose
  alternatives fit with every alternative of the other steps, so any path reads coherently.
  Keys: hero {A} {he} {him} {his} {himself} {was}; friend {B} {b_he} ...; grown-up {C} {Cc}
  {c_he} ...; a capitalised key ({Landmark}) is its slot with a capital first letter.

Edit a list, then run ``python -m helpers.stories --samples`` and
``python -m pytest grader/tests/test_stories.py -q``.
"""
from __future__ import annotations


def _w(text: str) -> tuple[str, ...]:
    """Whitespace-separated words -> tuple (one-word items)."""
    return tuple(dict.fromkeys(text.split()))  # drop repeats, keep the order


def _p(text: str) -> tuple[str, ...]:
    """Comma-separated phrases -> tuple (items may contain spaces)."""
    return tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))


# ---------------------------------------------------------------------------------------------
# People. Real names come first in the name pools, so they are the most frequent (Zipf head).
# ---------------------------------------------------------------------------------------------
GIRLS = _w("""Lily Sue Mia Amy Lucy Emma Sara Anna Ella Ava Zoë Chloé Amélie Inès Léa Renée Sofia
    Maya Nora Ruby Rosa Daisy Ivy Hana Aiko Priya Amara Fatima Leila Grace Hazel Olive Pia Tess
    Kira Nina Elena Marta Ingrid Freya Dóra Mei Yuki Ada Iris Jade Luna Molly Polly Wendy Bella
    Clara Greta Holly Kim Jill Beth May Lola Nadia Sana Ayla Mila Eva Julia Alice Penny Sophie
    Olivia Isla Poppy Rose Evie Florence Matilda Harriet Edith Agnes Beatrix Winnie Martha Lottie
    Maisie Esme Imogen Phoebe Ruth Naomi Miriam Esther Zara Layla Aisha Yasmin Noor Ananya Diya
    Meera Sakura Emi Keiko Lin Xia Ming Soo-ah Ji-woo Camila Valentina Lucía Paula Carmen Inés
    Gabriela Ximena Ana Bianca Giulia Chiara Francesca Élodie Margaux Colette Heidi Liesel Annika
    Astrid Sigrid Saoirse Niamh Siobhan Ffion Bronwen Kalinda Mele Leilani Nia Zuri Amani Ayo
    Chiamaka Adaeze Wanjiru Thandiwe Olga Irina Katya Zofia Hanne Malin Tove""")
BOYS = _w("""Tim Ben Tom Max Timmy Sam Leo Jack Finn Oscar Noah Liam Theo José André Björn Søren
    Raphaël Ángel Omar Ravi Kenji Hiro Jin Diego Mateo Luca Felix Hugo Arlo Otto Milo Eli Ezra
    Kofi Kwame Tariq Yusuf Ivan Pavel Nils Lars Ollie Rory Toby Dan Bob Joe Ned Ted Sid Ray Gus
    Pete Adam Ali Marco Paul Ryan Jake Luke Carl Billy Bruno Sven Harry George Arthur Alfie
    Freddie Albert Stanley Walter Henry Edward Oliver William James Thomas Daniel David Samuel
    Isaac Jacob Caleb Reuben Jonah Amir Karim Hamza Bilal Arjun Rohan Vikram Dev Kabir Haruto
    Sora Ren Yuto Wei Jun Hao Min-jun Seo-jun Santiago Pablo Javier Emilio Tomás Nicolás Rafael
    Lorenzo Matteo Giovanni Étienne Mathis Baptiste Julien Lukas Jonas Matthias Anders Erik
    Olaf Magnus Cormac Declan Padraig Emrys Dylan Ieuan Keoni Makoa Tane Chidi Emeka Tunde Jabari
    Themba Sipho Dmitri Mikhail Bogdan Tomasz Jakub Oskar Viktor""")
THEYS = _w("""Alex Sky River Robin Quinn Sage Kai Rowan Ash Jo Remy Charlie Jules Eden Noel Bo
    Ari Avery Blair Casey Dakota Ellis Emery Finley Harper Hayden Jamie Jordan Kit Lane Logan
    Marlowe Morgan Nico Oakley Parker Peyton Reese Riley Shiloh Sol Tatum Wren""")
PET_NAMES = _w("""Buddy Biscuit Muffin Pepper Coco Rex Whiskers Patches Bubbles Snowball Pickles
    Ziggy Peanut Shadow Ginger Socks Mittens Sparky Fluffy Noodle Pudding Button Waffles Nugget
    Cookie Pumpkin Sprinkles Marshmallow Toffee Fudge Pip Scout Ranger Duke Princess Bandit
    Smokey Tiger Boots Chester Dotty Freckles Gizmo Jellybean Kiwi Lucky Mango Nibbles Oreo
    Pebbles Pippin Rascal Rusty Sunny Taffy Tinker Truffle Wiggles Zippy Bubba Cupcake Domino
    Hopper Jasper Midnight Misty Nutmeg Paws Popcorn Puddles Sausage Skipper Snickers Sprout
    Squiggles Stripes Sugar Thumper Twinkle Wally Wobble Yoyo Ziggy""")
SURNAMES = _w("""Brown Green Lee Patel García Nakamura Okafor Novak Dubois Smith Jones Taylor Wilson
    Evans Walker Wright Hughes Edwards Hall Clarke Baker Turner Cooper Hill Ward Morris King
    Wood Harris Martin Lewis Young Allen Bell Parker Bennett Gray Price Fox Shaw Khan Singh
    Kumar Chen Wang Zhang Liu Kim Park Tanaka Suzuki Sato Müller Schmidt Fischer Weber Rossi
    Russo Bianchi Ferrari Silva Santos Pereira Costa López Martínez Hernández Gómez Díaz Moreau
    Lefèvre Girard Janssen Jansen Nielsen Larsen Berg Lindqvist Kowalski Nowak Ivanova Petrov
    Mensah Adeyemi Nkosi Mwangi Haddad Nasser Cohen Levi Murphy Kelly Byrne Quinn O'Brien""")
TITLES = (("Mrs.", "she"), ("Mr.", "he"), ("Ms.", "she"), ("Dr.", "she"), ("Dr.", "he"),
          ("Captain", "she"), ("Captain", "he"), ("Professor", "he"), ("Professor", "they"),
          ("Granny", "she"), ("Old Mr.", "he"), ("Miss", "she"))
ADULTS = (("Mom", "she"), ("Dad", "he"), ("Grandma", "she"), ("Grandpa", "he"),
          ("Aunt Rose", "she"), ("Uncle Pete", "he"), ("the teacher", "she"),
          ("Mr. Brown", "he"), ("Mrs. Green", "she"), ("Ms. Lee", "she"), ("the old farmer", "he"),
          ("the baker", "she"), ("the kind doctor", "he"), ("the park ranger", "they"),
          ("Nana", "she"), ("Papa", "he"), ("the librarian", "she"), ("the zookeeper", "he"),
          ("Señora Núñez", "she"), ("Monsieur Dubois", "he"), ("the wise owl", "she"),
          ("the firefighter", "they"), ("the big sister", "she"), ("the big brother", "he"),
          ("Mama", "she"), ("Daddy", "he"), ("Granny", "she"), ("Grandad", "he"),
          ("Auntie May", "she"), ("Uncle Ravi", "he"), ("Great-Grandma", "she"),
          ("the babysitter", "they"), ("the neighbor", "he"), ("the coach", "she"))
RELATIVES = _p("""grandma, grandpa, great-grandma, great-grandpa, great-aunt, great-uncle,
    old neighbor, oldest cousin, godmother, godfather""")
PROFESSIONS = _p("""baker, farmer, doctor, nurse, teacher, librarian, zookeeper, firefighter, pilot,
    sailor, fisherman, painter, builder, carpenter, gardener, florist, mail carrier, chef, cook,
    shopkeeper, grocer, tailor, shoemaker, potter, weaver, blacksmith, clockmaker, toymaker,
    beekeeper, shepherd, lighthouse keeper, bus driver, train driver, taxi driver, truck driver,
    police officer, vet, dentist, scientist, astronaut, inventor, explorer, artist, musician,
    singer, dancer, acrobat, juggler, magician, clown, ringmaster, puppeteer, storyteller,
    writer, poet, photographer, mechanic, plumber, electrician, park ranger, lifeguard, coach,
    mayor, captain, glassblower, candle maker, cheesemaker, ice cream seller, fruit seller,
    flower seller, street sweeper, window cleaner, crossing guard, janitor, cashier, tour guide,
    map maker, boat builder, kite maker, knight, wizard, queen, king, prince, princess, judge,
    miller, dairy farmer, goatherd, rancher, diver, ferry captain, conductor, stationmaster,
    balloon seller, bookbinder, hatmaker, locksmith, lamplighter, chimney sweep, watchmaker""")

# ---------------------------------------------------------------------------------------------
# Animals
# ---------------------------------------------------------------------------------------------
ANIMALS = _p("""bunny, cat, dog, puppy, kitten, bear, fox, owl, duck, frog, mouse, squirrel, bird,
    turtle, lion, tiger, elephant, monkey, pig, cow, horse, pony, sheep, goat, hen, chick, deer,
    hedgehog, penguin, dolphin, whale, crab, bee, ladybug, butterfly, snail, ant, dragon,
    unicorn, robot, giraffe, zebra, koala, panda, kangaroo, otter, beaver, raccoon, badger,
    mole, seal, octopus, fish, lamb, donkey, goose, swan, parrot, crow, bat, wolf, hippo, camel,
    llama, moose, lizard, dinosaur, caterpillar, spider, firefly, seahorse, starfish, walrus,
    polar bear, teddy bear, elf, baby bird, ostrich, eagle, rooster, peacock, chipmunk,
    flamingo, pelican, toucan, gorilla, cheetah, leopard, buffalo, porcupine, armadillo, sloth,
    turkey, puffin, salmon, shark, tadpole, beetle, dragonfly, cricket, pigeon, sparrow, alpaca,
    anteater, antelope, baboon, bison, bobcat, bulldog, calf, canary, chameleon, chimpanzee,
    cougar, coyote, crane, crocodile, alligator, dachshund, dalmatian, dormouse, duckling, eel,
    egret, elk, emu, falcon, ferret, finch, gazelle, gecko, gerbil, goldfinch, goldfish, gopher,
    grasshopper, guinea pig, hamster, hare, hawk, heron, hummingbird, hyena, ibis, iguana,
    jaguar, jellyfish, kingfisher, kookaburra, lemur, lobster, lynx, macaw, magpie, manatee,
    marmot, meerkat, mink, mockingbird, mongoose, moth, mule, narwhal, newt, nightingale,
    ocelot, orangutan, osprey, oyster, panther, parakeet, pheasant, piglet, platypus, poodle,
    possum, quail, rabbit, ram, raven, reindeer, rhino, robin, salamander, sandpiper, sea lion,
    sea turtle, shrew, skunk, skylark, stork, swallow, tapir, toad, tortoise, vole, wallaby,
    warthog, weasel, wombat, woodpecker, worm, wren, yak, bluebird, blackbird, bumblebee,
    cockatoo, fawn, foal, gosling, koi, minnow, guppy, pufferfish, clownfish, hermit crab,
    sea otter, snow leopard, red panda, centipede, glowworm, earthworm, inchworm, honeybee,
    blue jay, cardinal, chickadee, shrimp, orca, beluga, seagull, albatross, cormorant,
    bullfrog, tree frog, fairy, gnome, troll, giant, mermaid, griffin, phoenix, sea monster,
    aardvark, axolotl, barn owl, beagle, collie, corgi, greyhound, pug, sheepdog,
    spaniel, terrier, bullfinch, buzzard, condor, dove, grebe, hoopoe, jackdaw, lark, loon,
    lovebird, mallard, moorhen, nuthatch, owlet, partridge, peahen, plover, rook, snowy owl,
    starling, thrush, turtledove, warbler, capybara, chinchilla, dugong, echidna, gnu, ibex,
    jackrabbit, kinkajou, marten, muskrat, okapi, opossum, pangolin, pika, prairie dog, quokka,
    serval, snowshoe hare, springbok, stoat, tamarin, tarsier, wildebeest, wolverine,
    angelfish, catfish, cuttlefish, flounder, herring, mackerel, manta ray, mussel, sardine,
    scallop, sea urchin, swordfish, tuna, aphid, cicada, earwig, gnat, hornet, katydid,
    lacewing, locust, mantis, mayfly, mosquito, stick insect, wasp, water beetle""")
FLYERS = _p("bird, owl, parrot, crow, eagle, robin, magpie, pigeon, seagull, hummingbird, wren")
PETS = _p("""dog, cat, puppy, kitten, rabbit, hamster, guinea pig, goldfish, parrot, turtle,
    tortoise, canary, budgie, mouse, gerbil, ferret, pony, lizard, hedgehog, duck, hen, goat,
    lamb, pig, parakeet, frog""")
SOUNDS = {"cow": "Moo", "duck": "Quack", "dog": "Woof", "puppy": "Woof", "cat": "Meow",
          "kitten": "Meow", "pig": "Oink", "sheep": "Baa", "lamb": "Baa", "owl": "Hoot",
          "frog": "Ribbit", "bee": "Buzz", "lion": "Roar", "tiger": "Roar", "horse": "Neigh",
          "pony": "Neigh", "hen": "Cluck", "rooster": "Cock-a-doodle-doo", "mouse": "Squeak",
          "goose": "Honk", "bird": "Tweet", "dragon": "Roar", "robot": "Beep", "goat": "Maa",
          "canary": "Tweet", "budgie": "Chirp", "parrot": "Hello", "hamster": "Squeak",
          "guinea pig": "Wheek", "parakeet": "Chirp", "donkey": "Hee-haw", "crow": "Caw"}
VOICES = {"barked": _p("dog, puppy, seal, fox, sea lion"),
          "chirped": _p("bird, cricket, sparrow, robin, finch, canary, wren, chick"),
          "squeaked": _p("mouse, hamster, guinea pig, gerbil, shrew, dormouse, vole"),
          "purred": _p("cat, kitten, cheetah, lynx, bobcat"),
          "hooted": _p("owl"), "quacked": _p("duck, duckling"), "honked": _p("goose, swan"),
          "buzzed": _p("bee, bumblebee, honeybee, fly"), "croaked": _p("frog, toad, bullfrog"),
          "growled": _p("bear, tiger, lion, jaguar, panther, wolf"),
          "howled": _p("wolf, coyote, dog"), "neighed": _p("horse, pony, foal"),
          "clucked": _p("hen"), "cooed": _p("pigeon, dove"),
          "squawked": _p("parrot, macaw, cockatoo, seagull, crow, magpie"),
          "trumpeted": _p("elephant"), "bleated": _p("sheep, lamb, goat"),
          "hissed": _p("snake, goose, lizard"), "grunted": _p("pig, piglet, warthog, boar"),
          "sang": _p("nightingale, blackbird, skylark, bluebird, mockingbird, whale"),
          "chattered": _p("monkey, squirrel, chipmunk, magpie"), "mooed": _p("cow, calf")}
BODY_EDS = _w("""eyed eared tailed nosed legged footed beaked winged pawed horned whiskered haired
    cheeked necked faced toothed billed feathered furred shelled headed""")
COMPOUND_FIRSTS = _w("""long short big little round bright sharp soft thick thin red blue green
    golden silver white black brown gray pink spotted curly fluffy stubby flat wide narrow
    bushy droopy floppy pointy sleepy rosy smooth shaggy bald striped""")

# ---------------------------------------------------------------------------------------------
# Things
# ---------------------------------------------------------------------------------------------
TOYS = _p("""ball, kite, doll, teddy bear, toy car, toy train, truck, boat, puzzle, drum, whistle,
    balloon, book, crayon, pencil, paintbrush, hat, scarf, mitten, boot, backpack, basket,
    bucket, shovel, jar, cup, spoon, bowl, blanket, pillow, lamp, flashlight, key, box, ribbon,
    necklace, ring, button, coin, shell, stone, feather, map, compass, clock, bell, guitar,
    flute, trumpet, violin, bicycle, scooter, wagon, sled, umbrella, jump rope, marble, yo-yo,
    rocket, crown, wand, cape, mask, sticker, stamp, card, present, bracelet, watch, robot,
    airplane, helicopter, tractor, fire truck, spinning top, rattle, lunchbox, notebook, glove,
    sweater, jacket, sandal, sneaker, toothbrush, comb, mirror, camera, telescope,
    magnifying glass, net, fishing rod, tent, rope, ladder, chair, music box, snow globe,
    piggy bank, paper boat, pinwheel, harmonica, xylophone, lantern, tambourine, puppet,
    kaleidoscope, toy soldier, skateboard, surfboard, hammock, treasure chest, bubble wand,
    origami crane, dollhouse, rocking horse, rubber duck, beach ball, bouncy ball, frisbee,
    hula hoop, jigsaw puzzle, toy boat, toy dinosaur, toy robot, stuffed rabbit, rag doll,
    wind-up mouse, toy piano, tea set, paint set, sticker book, coloring book, picture book,
    storybook, comic book, scrapbook, diary, magic wand, pirate hat, tiara, kazoo, recorder,
    maraca, paper airplane, paper crown, sock puppet, finger puppet, marionette, toy castle,
    train set, race car, dump truck, remote-control car, glow stick, walkie-talkie, microscope,
    prism, magnet, chess set, board game, jack-in-the-box, water pistol, butterfly net,
    kite string, toy sailboat, wooden sword, cardboard box, plastic dinosaur, toy telephone""")
OBJECTS = _p("""teapot, kettle, broom, mop, bucket, spoon, fork, ladle, whisk, bowl, plate, cup,
    mug, jar, bottle, basket, box, crate, barrel, sack, bag, purse, wallet, key, padlock, chain,
    rope, ribbon, needle, button, thimble, comb, hairbrush, toothbrush, mirror, towel, blanket,
    quilt, pillow, cushion, rug, curtain, candle, candlestick, lamp, lantern, clock, watch, bell,
    whistle, hammer, wrench, shovel, rake, spade, trowel, watering can, wheelbarrow, ladder,
    stool, umbrella, map, letter, envelope, postcard, notebook, pencil, crayon, marker,
    paintbrush, eraser, ruler, glue stick, paper clip, newspaper, magazine, calendar, photograph,
    picture frame, vase, pot, pan, frying pan, saucepan, lid, tray, napkin, tablecloth, apron,
    oven mitt, rolling pin, cookie cutter, measuring cup, sieve, grater, funnel, thermos, lunchbox,
    pouch, tin, jug, pitcher, teacup, saucer, pail, tub, sponge, feather duster, dustpan,
    doormat, birdcage, birdhouse, fishbowl, flowerpot, seed packet, pine cone, seashell, pebble,
    feather, stick, twig, crystal, gem, pearl, coin, bead, marble, ring, locket, brooch, medal,
    trophy, ticket, badge, sticker, balloon, flag, banner, sign, poster, kite, net, fishing rod,
    sleeping bag, paddle, oar, anchor, hook, treasure map, keychain, hourglass, sundial, globe,
    atlas, dictionary, cookbook, piggy bank, jewelry box, sewing kit, toolbox, paint can,
    shoebox, hatbox, music box, wind chime, pocket watch, spyglass, spinning wheel, typewriter,
    radio, record player, accordion file, telescope, flashlight, alarm clock, egg timer,
    bread basket, picnic basket, cake tin, cookie jar, honey pot, butter dish, salt shaker,
    pepper mill, soup pot, tea towel, hot-water bottle, snow shovel, garden hose, bird feeder,
    lawn mower, flower basket, mailbox, lunch bag, pencil case, school bag, hair clip, top hat,
    bandage, barometer, baton, beach towel, bedspread, birthday card, blackboard,
    bookmark, bottle cap, light bulb, butter knife, calculator, candle holder, walking cane,
    canteen, carpet, chalkboard, clipboard, clothespin, coat hanger, colander, cookie sheet,
    cowbell, crayon box, dishcloth, doorknob, dustbin, egg cup, eggbeater, electric fan,
    feather pen, fishing net, flask, flyswatter, garden gnome, gift box, goblet, hair dryer,
    handbell, handkerchief, headlamp, ice pack, inkpot, ironing board, jam jar, jigsaw piece,
    knitting needle, lampshade, laundry basket, leash, lunch tray, magnet, matchbox, megaphone,
    milk bottle, money box, nightlight, notepad, nutcracker, oil lamp, paper bag, paperweight,
    pencil sharpener, pepper pot, pie dish, pincushion, place mat, plant pot, quill, rain gauge,
    recipe card, rubber band, safety pin, salad bowl, sandbag, scoop, scrubbing brush,
    shoehorn, shoelace, sketchbook, soap dish, spatula, spool, spray bottle, stapler,
    stepladder, stopwatch, sugar bowl, suitcase, tape measure, tea cozy, teaspoon, thermometer,
    tissue box, toast rack, torch, tote bag, trinket, tuning fork, umbrella stand, walking stick,
    wash basin, washcloth, water bottle, wind-up clock, wooden spoon, wreath, yarn ball, zipper""")
CONTAINERS = _p("""basket, shoebox, teacup, flowerpot, mitten, hat, bucket, cookie jar, lunchbox,
    drawer, soup bowl, matchbox, sock, cardboard box, picnic basket, woolly hat""")
HIDING = _p("""under the bed, behind the sofa, in the garden, under a big leaf, inside a box,
    next to the door, on top of the shelf, in the grass, under the table, behind a tree,
    in the toy box, near the pond, in a pile of leaves, under a blanket, in Dad's boots,
    behind the curtains, inside a flowerpot, under the stairs, in the laundry basket,
    behind the woodpile, inside an old boot, under a pile of coats, in the bread bin,
    on the windowsill, between two books, under the doormat, inside the piano,
    in the pocket of an old coat, behind the garden shed, in the hollow of a tree""")
BREAKABLES = _w("vase cup lamp plate clock mirror teapot jar bowl window teacup saucer bottle")
STUCK = _p("kite, ball, balloon, hat, kitten, paper plane, frisbee, scarf, shuttlecock, sock")
BUILT = _p("""sandcastle, tower of blocks, snowman, fort, birdhouse, bridge of sticks, dam,
    pillow fort, cardboard rocket, treehouse ladder, den of branches""")
PLANTS = _p("""sunflower, tomato plant, pumpkin, carrot, bean plant, strawberry plant, rose,
    apple tree, pea plant, lemon tree, cucumber vine, tulip, lettuce, potato plant""")
FURNITURE = _p("""sofa, couch, armchair, rocking chair, bed, bunk bed, cradle, high chair,
    bookshelf, bookcase, dresser, nightstand, wardrobe, cupboard, cabinet, kitchen table,
    coffee table, desk, stool, bench, footstool, windowsill, staircase, fireplace, chest of drawers,
    toy chest, piano stool, porch swing, garden bench, hammock, beanbag""")
VEHICLES = _p("""car, bus, train, truck, bicycle, tricycle, scooter, boat, sailboat, rowboat, canoe,
    kayak, ship, ferry, submarine, airplane, helicopter, hot-air balloon, rocket, spaceship,
    tractor, bulldozer, digger, dump truck, fire truck, ambulance, police car, taxi, van, jeep,
    motorcycle, wagon, cart, carriage, sled, sleigh, tram, trolley, cable car, steamboat,
    tugboat, fishing boat, houseboat, raft, yacht, glider, blimp, school bus, double-decker bus,
    garbage truck, ice cream truck, tow truck, camper van, pickup truck, cement mixer,
    horse cart, milk truck, mail truck""")
VEHICLE_MOVES = _w("rumbled rattled zoomed chugged clattered rolled whizzed puttered bounced")
INSTRUMENTS = _p("""piano, guitar, violin, cello, harp, flute, piccolo, clarinet, oboe, bassoon,
    saxophone, trumpet, trombone, tuba, drum, snare drum, bongo, xylophone, glockenspiel,
    triangle, tambourine, maraca, harmonica, accordion, banjo, mandolin, recorder, kazoo,
    bagpipe, bugle, cymbal, gong, penny whistle, fiddle, lute, sitar, steel drum, tin whistle""")
CLOTHES = _p("""hat, coat, dress, shirt, skirt, scarf, jacket, raincoat, sweater, cap, helmet,
    apron, belt, bow tie, vest, hoodie, tutu, cardigan, poncho, cloak, cape, bonnet, beret,
    beanie, sun hat, straw hat, top hat, wool hat, bathrobe, nightgown, overcoat, parka, blazer,
    waistcoat, kilt, sari, kimono, tunic, smock, jumper, pinafore, sundress, T-shirt, bandana,
    headband, hair ribbon, bow, necktie, shawl, fleece, windbreaker, life jacket""")
PLURAL_CLOTHES = _p("""boots, shoes, socks, mittens, gloves, sandals, slippers, overalls, pajamas,
    shorts, jeans, rain boots, sneakers, leggings, earmuffs, flip-flops, wellies, tights""")
MATERIALS = _w("""wooden plastic paper glass metal tin brass copper silver clay stone straw wicker
    leather rubber cardboard bamboo porcelain ceramic""")
FABRICS = _w("woolen silk velvet cotton denim felt knitted patchwork corduroy tweed linen fleecy")
COLORS = _w("""red blue green yellow orange purple pink brown black white gray golden silver violet
    turquoise lavender crimson scarlet maroon teal navy indigo lilac magenta amber bronze copper
    coral cream ivory beige tan rust olive lime mint jade emerald sapphire plum mustard
    charcoal peach apricot lemon cherry rose""")
SHADES = _w("pale dark bright light deep soft")

# ---------------------------------------------------------------------------------------------
# Food
# ---------------------------------------------------------------------------------------------
FOODS = _p("""apple, banana, pear, orange, grape, cherry, strawberry, blueberry, peach, plum,
    lemon, melon, carrot, potato, tomato, cucumber, pumpkin, sandwich, pie, cake, cookie,
    muffin, cupcake, pancake, waffle, egg, pizza, biscuit, donut, pretzel, cracker, bun,
    lollipop, candy cane, taco, burrito, dumpling, bagel, croissant, apricot, mango, kiwi, fig,
    coconut, radish, onion, sausage, meatball, noodle, cherry tomato, gingerbread man, acorn,
    raspberry, avocado, papaya, pineapple, grapefruit, turnip, beet, zucchini, walnut, peanut,
    almond, hot dog, hamburger, omelet, scone, brownie, marshmallow, jelly bean, tart,
    blackberry, cranberry, gooseberry, mulberry, date, nectarine, tangerine, clementine, lime,
    watermelon, cantaloupe, pomegranate, persimmon, guava, lychee, passion fruit, dragon fruit,
    green bean, bell pepper, leek, parsnip, cabbage, cauliflower, eggplant, artichoke, squash,
    yam, sweet potato, mushroom, olive, pickle, popsicle, ice cream cone, candy bar, gumdrop,
    toffee, caramel, chocolate bar, truffle, cinnamon roll, cream puff, eclair, macaron,
    meringue, crumpet, flapjack, crepe, tortilla, quesadilla, spring roll, rice ball, steamed bun,
    samosa, empanada, pastry, strudel, apple pie, cherry pie, pudding, meat pie, pot pie, pasty,
    bread roll, breadstick, grilled cheese, peanut butter sandwich, egg roll, pita, fish cake,
    rice cake, corn muffin, fruit tart, lemon tart, jam tart, honey cake, carrot cake,
    birthday cake, chocolate chip cookie, gingersnap, fortune cookie, wafer, graham cracker,
    turnover, popover, granola bar, hard-boiled egg, fried egg, baked potato, corn dog, loaf,
    jelly doughnut, sugar cookie, oatmeal cookie, cheese puff, potato cake, corn cob, pea pod,
    chestnut, hazelnut, pecan, cashew, pistachio, sunflower seed, plum cake, banana split,
    banana muffin, berry tart, blueberry muffin, bran muffin, cheese scone,
    cherry tart, chocolate muffin, cinnamon bun, coconut cookie, currant bun, custard tart,
    egg tart, fig roll, fruit scone, ginger biscuit, honey bun, jam doughnut, lemon bar,
    lemon cupcake, maple cookie, nut roll, onion ring, peach tart, pear tart, plum tart,
    potato pancake, pumpkin pie, pumpkin muffin, raisin bun, rhubarb pie, rice cracker,
    sesame bun, shortbread biscuit, spinach pie, sponge cake, strawberry tart, sweet roll,
    teacake, toffee apple, vanilla cupcake, walnut cake, waffle cone""")
MASS_FOODS = _p("""honey, jam, milk, juice, lemonade, soup, rice, bread, cheese, ice cream, cocoa,
    tea, porridge, yogurt, popcorn, pasta, salad, chocolate, syrup, water, butter, cereal,
    oatmeal, granola, toast, spaghetti, macaroni, stew, chili, curry, broth, gravy, custard,
    jelly, marmalade, peanut butter, maple syrup, apple juice, orange juice, grape juice,
    hot chocolate, warm milk, cider, lemon tea, mint tea, fruit salad, potato salad, coleslaw,
    mashed potatoes, fudge, cotton candy, whipped cream, cream, sugar, cinnamon, rice pudding,
    banana bread, cornbread, garlic bread, sweet corn, broccoli, spinach, celery, asparagus,
    green peas, sushi, tofu, hummus, guacamole, salsa, pesto, risotto, lasagna, ravioli,
    couscous, polenta, paella, ramen, fried rice, noodle soup, tomato soup, pumpkin soup,
    chicken soup, vegetable soup, lentil soup, ketchup, mustard, applesauce, cranberry sauce,
    sparkling water, pancake batter, cookie dough, strawberry jam, blueberry jam, rhubarb,
    scrambled eggs, baked beans, fish and chips, shepherd's pie, mac and cheese, gingerbread""")
DRINKS = _p("""milk, lemonade, apple juice, orange juice, water, cocoa, hot chocolate, mint tea,
    lemon tea, cider, grape juice, sparkling water, warm milk, pineapple juice, iced tea""")
EATS = _w("ate munched nibbled gobbled tasted crunched shared finished devoured enjoyed")
DRINKS_PAST = _w("drank sipped slurped gulped tasted shared finished")
BAKED = _p("""cake, pie, loaf of bread, batch of cookies, tray of muffins, plate of scones,
    pudding, tart, pizza, batch of brownies""")

# ---------------------------------------------------------------------------------------------
# Places, nature, weather, time
# ---------------------------------------------------------------------------------------------
PLACES = _p("""park, garden, forest, woods, beach, lake, river, pond, farm, barn, zoo, school,
    library, playground, meadow, hill, mountain, cave, castle, village, town, city, market,
    bakery, kitchen, backyard, field, island, jungle, desert, seaside, valley, bridge,
    train station, harbor, museum, circus, fair, camp, treehouse, attic, yard, swamp, orchard,
    toy store, candy shop, aquarium, post office, hospital, farmhouse, lighthouse,
    vegetable patch, flower shop, sandbox, pool, ice rink, bus stop, old mill, big tree,
    corner shop, canyon, glacier, prairie, marsh, lagoon, volcano, cathedral, palace, stadium,
    theater, workshop, greenhouse, sunflower field, pumpkin patch, skate park, carousel,
    waterfall, tunnel, barbershop, bookstore, boathouse, bowling alley, campsite, cinema,
    clock tower, courtyard, creek, dairy farm, dock, fire station, fishing village,
    flower market, forest clearing, fountain, garage, hayloft, henhouse, ice cream parlor,
    lemonade stand, marketplace, moor, observatory, pet shop, pier, planetarium, plaza,
    police station, quarry, railway station, ranch, reef, rose garden, schoolyard,
    science museum, ski slope, soccer field, stable, supermarket, swimming pool, tea shop,
    tide pool, toy shop, train yard, vineyard, water park, windmill, bandstand, boardwalk,
    bay, cove, brook, rainforest, savanna, oasis, sand dunes, riverbank, hillside, mountaintop,
    bamboo grove, apple orchard, duck pond, fairground, botanical garden, music room,
    art room, gym, cafeteria, hallway, classroom, basement, cellar, porch, balcony, rooftop,
    alley, town square, village green, allotment, petting zoo, puppet theater, ice cave,
    amusement park, animal shelter, art gallery, bird sanctuary, bouncy castle,
    butterfly garden, car wash, castle ruins, cherry orchard, chocolate factory, cliff top,
    community garden, corn maze, country fair, crossroads, dance studio, dog park,
    farmers' market, fish market, flower meadow, forest path, games room, garden shed, gift shop,
    hedge maze, high street, hot spring, ice cream shop, kite hill, lakeshore, lavender field,
    market square, mountain lake, mountain path, music shop, nature trail, old barn,
    paddling pool, picnic spot, pine forest, pizza place, playroom, pottery studio, rock garden,
    sandy cove, seashore, secret garden, shell beach, snowy field, stone bridge,
    strawberry field, summer camp, tennis court, toy museum, train platform, tree nursery,
    tulip field, village hall, waterfront, wheat field, wildflower field, wishing well, woodland""")
HOMES = _p("""house, cottage, hut, nest, burrow, cabin, tree house, farmhouse, castle, houseboat,
    den, igloo, tent, apartment, windmill, caravan, bungalow, log cabin, lighthouse, mansion,
    shack, barn, yurt, flat, townhouse, cottage by the sea""")
STREET_STEMS = _w("""Maple Oak Elm Willow Cherry Apple Pine Birch Cedar Chestnut Hazel Holly Ivy
    Rose Daisy Clover Meadow Mill Church Market Station Bridge Harbor Hill River Park School
    Orchard Garden Spring Sunny Acorn Badger Fox Otter Robin Lark Swan Honey""")
STREET_KINDS = _w("Street Lane Road Avenue Way Close Drive Row Crescent Hill Walk Place")
NATURE = _p("""sun, moon, sky, cloud, rainbow, star, tree, flower, grass, river, rock, hill, wave,
    sand, snow, leaf, puddle, wind, bush, branch, log, stream, mushroom, spider web, nest,
    petal, vine, pebble, waterfall, volcano, cliff, shore, path, fence, gate, garden wall, roof,
    boulder, pond, lake, creek, brook, dune, hedge, thicket, moss, fern, clover, dandelion,
    daisy, tulip, rose, sunflower, lily, daffodil, bluebell, poppy, lilac, buttercup, snowdrop,
    orchid, marigold, pansy, heather, thistle, ivy, holly bush, oak, maple, willow, birch,
    pine, fir, cedar, elm, beech, chestnut tree, apple tree, cherry tree, palm tree, bamboo,
    cactus, reed, cattail, lily pad, tree stump, hollow log, pine cone, seed, sprout, root,
    twig, icicle, snowflake, raindrop, dewdrop, mist, breeze, storm cloud, sunbeam, moonbeam,
    shadow, horizon, sunrise, sunset, tide, seaweed, coral, rock pool, iceberg, ridge, peak,
    slope, hilltop, stepping stone, well, scarecrow, haystack, fence post, signpost, lamppost,
    chimney, rooftop, weather vane, meadow, field, orchard, garden path, old oak tree""")
FLOWERS = _p("""daisy, tulip, rose, sunflower, lily, daffodil, bluebell, poppy, buttercup,
    snowdrop, orchid, marigold, pansy, violet, dandelion, forget-me-not, primrose,
    carnation, peony, petunia, zinnia, crocus, hyacinth, foxglove, cornflower, sweet pea,
    morning glory, water lily, lotus, chrysanthemum, geranium, iris""")
TREES = _p("""oak, maple, willow, birch, pine, fir, cedar, elm, beech, chestnut, apple, cherry,
    pear, plum, palm, olive, lemon, orange, walnut, hazel, ash, aspen, poplar, spruce,
    sycamore, magnolia, redwood, baobab, banyan, cypress, juniper, holly, rowan, alder""")
WEATHERS = _p("""the sun was shining, the wind was blowing, it was raining, snow was falling,
    the sky was blue, clouds were floating by, birds were singing, the air was warm,
    the leaves were falling, the stars were twinkling, a soft rain was falling,
    fog covered the fields, the wind was howling, thunder rumbled far away,
    the sky was pink and orange, frost sparkled on the grass, the air smelled of rain,
    a rainbow hung over the hills, the puddles were frozen, the moon was round and bright,
    the sun was setting, a cool breeze was blowing, it was hot and sticky,
    hailstones bounced on the roof, a gentle drizzle was falling, the clouds were gray""")
TIMES = _p("""morning, afternoon, evening, sunny day, rainy day, windy day, snowy day, cold night,
    warm night, Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday, spring day,
    summer day, autumn day, winter morning, foggy morning, bright afternoon, stormy night,
    chilly morning, lazy afternoon, quiet evening, hot summer day, frosty morning, holiday,
    school day, long weekend, cloudy day, misty evening, starry night""")
WEEKDAYS = _w("Monday Tuesday Wednesday Thursday Friday Saturday Sunday")
MONTHS = _w("January February March April May June July August September October November December")
LIGHTS = _p("""morning light, golden sunset, bright sunshine, soft moonlight, warm afternoon,
    gray fog, last light of the day, pink dawn, blue twilight, silver starlight, lamplight,
    glow of the campfire, early sunshine, evening shadows""")
NOISES = _p("""birds singing, a dog barking far away, the wind in the trees, the rain on the roof,
    a bell ringing, children laughing, the waves of the sea, a train whistle, bees buzzing,
    frogs croaking by the pond, a clock ticking, leaves crunching under their feet,
    an owl hooting, a tractor rumbling, music from a radio, a kettle whistling,
    crickets chirping, a cow mooing, church bells, a woodpecker tapping,
    a baby giggling, the hum of a fridge, water dripping, a door creaking, a boat horn""")
SMELLS = _p("""fresh bread, warm cookies, flowers, rain, pine trees, the sea, hot soup,
    apple pie, cut grass, smoke from a fire, oranges, cinnamon, fresh paint, wet dogs, hay,
    roses, lemons, popcorn, pancakes, lavender, chocolate, mint, old books, sun cream""")
SFX = _w("""Splash Crash Thump Whoosh Boing Pop Bang Ka-boom Ding-dong Tick-tock Crunch Swoosh
    Plop Clang Zip Bonk Whirr Sploosh Crack Ping Rumble Thud Clatter Ding""")

# ---------------------------------------------------------------------------------------------
# Describing words
# ---------------------------------------------------------------------------------------------
ADJS = _w("""big small little tiny huge tall short long round soft hard smooth bumpy fluffy fuzzy
    shiny sparkly bright dark old new clean dirty wet dry warm cold hot cool sweet fresh wild
    fancy plain heavy light empty full special magic secret strange wonderful amazing great
    colorful striped spotted muddy sticky crunchy cozy noisy calm squeaky wobbly shaggy prickly
    furry glittery giant mighty snowy sunny dusty rusty wooden plastic enormous ancient crooked
    dainty delicate elegant flimsy fragile gigantic gleaming graceful grand itchy jagged lumpy
    marvelous mysterious narrow peculiar plump puffy ragged rough scruffy shimmering silky
    slimy sloppy soggy speckled spiky splendid sturdy swift tangled thick thin tremendous
    twinkly velvety wiggly woolly zany antique battered beaded bent blotchy bouncy brittle
    bubbly bulky chalky checkered chipped chubby cloudy cracked creaky crinkly crisp crumbly
    curly curved damp dented dazzling deep dim dotted downy drafty dull dusky feathery fiery
    flat flaky foamy foggy folded freckled frosty frozen glassy glossy glowing gnarled golden
    grainy grassy greasy gritty gummy hairy hollow humongous icy jiggly knobbly knotted lacy
    leafy leathery lopsided loose majestic massive milky misty mossy musty oily oval pale
    patched patterned pebbly plush pointed pointy polished powdery puny quilted rickety ridged
    rippled roomy rosy rubbery rumpled salty sandy scaly scratchy shabby shaky sharp silvery
    skinny sleek slender slick slippery smoky smudgy snug soapy sooty sparkling spongy spotless
    springy square squashy squishy stained steamy steep stiff stony stout stretchy stripy
    stubby sunlit tattered teeny tender toasty towering twisted warped watery waxy weathered
    whiskery wide windy wiry wispy wrinkled zigzag oblong triangular circular bendy blocky
    boxy bulging chunky clunky craggy crusty dappled dewy dizzy drippy dusty elastic faded
    fizzy fluttery fringed frilly gauzy gleaming gooey grubby gusty hefty hilly hulking humpy
    inky jumbo knotty lanky leaky lumbering mammoth matted mighty miniature minty mottled
    muffled nubbly pearly peppery petite pocket-sized prickly puckered quaint rattly ribbed
    rocky round rusty scalloped sculpted shadowy shiny shrunken silky sizzling slanted
    slushy smooth snowy soaring sparkly spindly splotchy spotty sprawling
    squat squiggly starry steely stringy sugary sun-bleached swirly tall tangy
    teensy thorny tiny toothy tubby twiggy velvet wavy whirly wind-blown wintry wobbly
    woody wrinkly yellowed brand-new old-fashioned ice-cold red-hot heart-shaped star-shaped
    egg-shaped moon-shaped hand-made home-made one-of-a-kind
    airy arched beady billowy blunt bony breezy bristly broad chilly clear cobbled coiled
    compact crackly creamy crimped cushioned dingy drab dripping earthy faint fine firm flexible
    fluted fragrant frayed frothy fruity glazed gloomy gravelly grimy hazy high hooked husky
    immense jeweled juicy lacquered large lean lemony lengthy level limp lofty low luminous lush
    marbled mellow metallic mild misshapen moist mucky mushy neon nutty odd open orderly ornate
    painted papery patchy perfect pinkish plaid pleated precious pristine pungent radiant rare
    ripe roaring robust rounded rugged runny rustic rustling scented scrawny scrubbed shallow
    sheer shriveled silent simple sizable sloping smelly solid sour spacious speedy spicy steady
    still straight streaky striking strong stuffed superb swollen tasty tight tinted transparent
    tufted twinkling unusual useful vast vibrant vivid waterproof weightless whole windswept
    wondrous woven yummy zesty""")
PERCHES = _p("""fence, roof, garden wall, washing line, old gate, branch, chimney, mailbox,
    lamppost, windowsill, scarecrow's hat, weather vane, bird feeder, telephone wire""")
TOWN_ADJS = _w("""small quiet busy sleepy old pretty sunny windy little cozy friendly noisy tidy
    hilly snowy rainy sandy leafy muddy colorful cheerful peaceful crowded faraway foggy""")
HYPHEN_ADJS = _p("""brand-new, spick-and-span, topsy-turvy, higgledy-piggledy, old-fashioned,
    picture-perfect, sun-bleached, snow-covered, rain-soaked, moss-covered, frost-covered,
    sun-dappled, tip-top, shipshape, well-kept, half-finished, upside-down, lopsided,
    ice-cold, dew-covered, cobweb-covered, freshly-painted, wind-swept""")
CHAR_ADJS = _w("""little kind brave curious shy happy small clever playful friendly gentle silly
    young smart busy sleepy cheerful polite tiny quiet adventurous bashful bold bossy bouncy
    bright brilliant bubbly caring charming chatty cheeky clumsy considerate courageous
    creative cuddly daring dreamy eager energetic fearless feisty fussy giggly good-natured
    hardworking hopeful humble imaginative inventive jolly joyful kind-hearted lively lovable
    loyal merry mischievous modest neat nosy observant organized outgoing peaceful perky plucky
    quick-witted resourceful respectful responsible restless sensible sincere sly smiley sneaky
    sociable spirited spunky stubborn studious sweet talented talkative tender thoughtful
    timid tireless trusting truthful warm-hearted whimsical witty forgetful fidgety impatient
    messy noisy picky grouchy cranky absent-minded happy-go-lucky easygoing level-headed""")
GOOD_FEELINGS = _w("""happy glad excited proud thankful grateful cheerful calm joyful delighted
    hopeful brave relieved safe loved warm content thrilled overjoyed peaceful cozy amazed
    giddy jolly merry pleased satisfied confident bubbly lucky special strong free
    light-hearted ecstatic jubilant""")
BAD_FEELINGS = _w("""sad scared worried upset angry lonely nervous grumpy tired confused frightened
    disappointed jealous embarrassed cross sorry afraid anxious frustrated gloomy glum
    miserable unhappy uneasy restless sulky annoyed bored cranky homesick heartbroken hurt
    puzzled startled terrified troubled weary tearful downhearted""")
ADVERBS = _w("""quickly slowly carefully happily sadly quietly loudly gently softly bravely
    proudly kindly politely eagerly nervously patiently cheerfully suddenly angrily anxiously
    awkwardly boldly brightly busily calmly carelessly cautiously cleverly clumsily curiously
    daintily dreamily easily excitedly fearlessly fiercely firmly foolishly freely gladly
    gleefully gracefully greedily grumpily hastily heavily helpfully honestly hopefully
    hungrily joyfully lazily lightly lovingly loyally merrily mightily neatly noisily
    obediently playfully promptly rapidly readily recklessly ruefully safely shyly silently
    sleepily sloppily slyly smoothly sneakily solemnly speedily steadily sternly stiffly
    swiftly tenderly thankfully thoughtfully tightly timidly tiredly truthfully warmly wearily
    wildly wisely wistfully wonderfully briskly breathlessly cheekily cozily delicately
    gingerly giddily graciously heartily humbly jauntily nimbly peacefully perfectly
    pleasantly secretly seriously shakily sharply simply smartly snugly sweetly tearfully
    triumphantly warily bashfully drowsily fondly furiously mysteriously proudly quietly
    restlessly sorrowfully thoughtfully cautiously excitedly curiously
    abruptly absently accidentally adoringly affectionately approvingly attentively
    boisterously casually clearly closely comfortably confidently contentedly crossly daringly
    dearly deeply defiantly delightedly dimly doubtfully dutifully earnestly effortlessly
    elegantly energetically enthusiastically evenly exactly faithfully gaily generously
    gratefully gravely hurriedly innocently instantly intently jokingly knowingly magically
    meekly mischievously naturally nicely powerfully quizzically regally reluctantly
    remarkably respectfully rhythmically roughly sheepishly shrilly splendidly stealthily
    successfully suspiciously thoroughly tirelessly tremendously unexpectedly unsteadily
    urgently valiantly victoriously vigorously wholeheartedly willingly wonderingly worriedly""")
EXCLAIMS = _w("""Wow Oh Yay Hooray Look Oops Uh-oh Hmm Hey Ouch Whee Goodness Gosh Golly Aha Ooh
    Hurray Yippee Whoa Phew Wowee Oh-ho Huh""")
SAID = _w("""said asked shouted whispered cried called replied laughed yelled exclaimed giggled
    answered added muttered mumbled squeaked chirped gasped sighed cheered announced explained
    grumbled""")
YOUNG_AGES = _p("one, two, three, a baby, very small")
FRACTIONS = _w("1/2 1/4 3/4 1/3 2/3")
BAKE_MINUTES = _w("10 15 20 25 30 35 40 45 50 60")
PRIZE_PLACES = _w("1st 2nd 3rd 4th 5th")
PERSONS = _p("man, woman, lady, fellow, old man, young woman")
NUMBER_WORDS = _w("""two three four five six seven eight nine ten eleven twelve thirteen fourteen
    fifteen twenty""")
ORDINAL_WORDS = _w("first second third fourth fifth sixth seventh eighth ninth tenth")

# ---------------------------------------------------------------------------------------------
# Verbs. Base forms; helpers.story_grammar makes "hopped", "hopping", "cried", "tying".
# ---------------------------------------------------------------------------------------------
MOVES = _w("""tiptoe skip hop wander march crawl climb stomp splash tumble dash scurry waddle
    gallop flutter paddle float zoom jump amble bound canter clamber creep dance dart dawdle dive
    drift flit frolic glide hurry jog leap lope meander pace plod pounce prance race ramble roam
    roll romp run rush saunter scamper scramble scuttle shuffle skate skid skitter slide slip
    slither sneak somersault sprint step stride stroll strut stumble swim swing swoop toddle
    totter trot trudge wade walk waltz whirl zigzag cartwheel tap-dance bounce twirl spin hover
    bob burrow coast dodge fly hike hobble inch limp lumber mosey parade patter pirouette
    potter rove sail scoot skedaddle soar stagger stray swagger trek troop tromp venture
    wobble""")  # going somewhere: "trotted past them", "scampered around the room"
ACTIONS = _w("""wiggle giggle yawn stretch whistle hum sneeze shiver sigh nod wave clap peek blink
    frown grin shrug wink squeal smile chuckle flop gasp jiggle kneel laugh linger lounge nap
    pause perch relax rest sing snooze snore squirm sway topple twist twitch wriggle cheer
    chatter sniffle sniff hiccup howl grumble mumble mutter ponder pout beam blush glance gaze
    stare listen wait daydream doze sit stand sleep wake
    applaud babble bellow chirp cough curtsy fidget gape gulp holler huff marvel mope
    murmur pant peep puff quiver rejoice shudder slouch smirk snicker snort snuggle sob squeak
    squint sulk tremble wail weep whimper whine whisper whoop yelp yodel""")  # staying put
HANDLES = _w("""carry hold hug polish wash scrub dry fold wrap unwrap paint decorate fix mend
    repair shake squeeze sniff touch tap pat lift toss drop stack sort count measure weigh
    inspect examine study sketch draw clean dust brush hide find bury share borrow lend return
    trade swap fill empty open close push pull drag tug balance juggle nudge jiggle rattle
    wiggle spin twirl roll flip poke grab clutch cradle guard admire photograph label cover
    uncover unpack pack collect gather arrange straighten rinse soak wipe fetch haul lug
    store stash keep bring take show test try buy win spot notice discover stroke tickle
    catch throw sweep hang dig knit sew weave glue tape string tie untie
    assemble bundle buckle carve clasp clip coil crumple dab dangle dip display drape
    dunk flatten grip hammer heave hoist hook lower mark mold nestle patch pinch place plop
    press raise refill rescue rock rub scoop scrape scratch seal shift smooth stamp steady
    stitch tidy tilt trim tuck turn unfold unlock unroll untangle whittle zip""")
IRREGULAR_PAST = {
    "be": "was", "go": "went", "run": "ran", "swim": "swam", "sing": "sang", "ride": "rode",
    "fly": "flew", "build": "built", "make": "made", "read": "read", "draw": "drew", "dig": "dug",
    "catch": "caught", "tell": "told", "write": "wrote", "blow": "blew", "feed": "fed",
    "grow": "grew", "swing": "swung", "slide": "slid", "sit": "sat", "find": "found",
    "see": "saw", "eat": "ate", "take": "took", "give": "gave", "come": "came", "know": "knew",
    "think": "thought", "hold": "held", "fall": "fell", "get": "got", "say": "said",
    "hear": "heard", "feel": "felt", "bring": "brought", "buy": "bought", "keep": "kept",
    "leave": "left", "put": "put", "begin": "began", "wake": "woke", "throw": "threw",
    "break": "broke", "win": "won", "lose": "lost", "hide": "hid", "spin": "spun",
    "creep": "crept", "kneel": "knelt", "leap": "leaped", "dive": "dove", "sleep": "slept",
    "stand": "stood", "stride": "strode", "shake": "shook", "sweep": "swept", "hang": "hung",
    "lend": "lent", "sew": "sewed", "weave": "wove", "string": "strung", "do": "did",
    "have": "had", "drink": "drank", "bite": "bit", "sell": "sold", "send": "sent",
    "light": "lit", "ring": "rang", "shine": "shone", "teach": "taught", "fight": "fought",
    "frolic": "frolicked", "picnic": "picnicked", "sneak": "sneaked", "forget": "forgot",
    "wear": "wore", "tear": "tore", "stick": "stuck", "spend": "spent", "show": "showed",
    "cut": "cut", "set": "set", "weep": "wept", "lay": "laid", "shut": "shut", "let": "let",
    "meet": "met", "lead": "led"}
ING_EXCEPTIONS = {"frolic": "frolicking", "picnic": "picnicking", "be": "being", "see": "seeing"}
# Verbs of more than one syllable that double their last consonant (one-syllable verbs such
# as hop, stop, trot are detected by rule).
DOUBLE_FINAL = _w("begin admit equip unzip unwrap zigzag forget regret permit control patrol")
ACTIVITIES = _p("""play with blocks, draw pictures, sing songs, dance in the rain, read books,
    build sandcastles, jump in puddles, chase butterflies, ride a bike, fly a kite,
    swim in the lake, bake cookies, plant flowers, climb trees, look at the stars, paint,
    play hide-and-seek, collect shells, pick berries, feed the ducks, splash in the pond,
    roll down the hill, dig in the sand, skip along the path, hop like a frog, play the drum,
    make funny faces, catch fireflies, play tag, tell jokes, watch the clouds, run in the grass,
    write letters, count the stars, help in the kitchen, visit the zoo, play music,
    swing on the swing, slide down the slide, blow bubbles, make a fort, knit scarves,
    fix things, grow carrots, ride the train, go fishing, explore the woods, skate on the ice,
    bake muffins, build a snowman, build birdhouses, collect stamps, collect acorns,
    do cartwheels, draw maps, feed the goats, fold paper boats, go camping, go sledding,
    grow tomatoes, hunt for treasure, juggle oranges, knit socks, learn magic tricks,
    make paper crowns, make necklaces, paint rocks, pick apples, plant tulips, play chess,
    play the violin, play the trumpet, play soccer, play checkers, practice the piano,
    press flowers, race toy cars, ride horses, roast marshmallows, sail paper boats,
    sew puppets, skip stones, sort seashells, stack blocks, swim in the sea, tell stories,
    walk the dog, watch birds, whistle tunes, write poems, wrap presents, make pancakes,
    make lemonade, pick flowers, fly paper airplanes, jump rope, do puzzles, solve riddles,
    look for bugs, look for fossils, explore caves, climb rocks, count clouds, hum songs,
    play the ukulele with Grandpa, play dress-up, have tea parties, make mud pies,
    build towers, paint pictures of boats, feed the chickens, brush the pony, water the plants,
    go on treasure hunts, ride the carousel, make snow angels, press leaves, study the stars,
    sketch birds, play marbles, skip rope, sing in the bath, whittle sticks, tidy the garden,
    make up songs, visit the library, bake bread, pick mushrooms, fly model airplanes""")
SKILLS = _p("""ride a bike, swim, tie shoes, whistle, bake bread, skip rope, read a book,
    climb the big hill, play the piano, skate, write {his} name, count to one hundred,
    juggle three balls, do a cartwheel, dive into the pool, knit a scarf, ride a pony,
    play the recorder, stand on one foot, spell {his} last name, tell the time,
    fold a paper crane, throw a ball far, dance a waltz, sail a little boat""")
GAMES = _p("""tag, hide-and-seek, catch, hopscotch, marbles, pretend pirates, I spy,
    red light green light, checkers, dominoes, leapfrog, musical chairs, Simon says,
    duck duck goose, charades, hot potato, tug-of-war, treasure hunt, snakes and ladders""")
COLLECTIBLES = _p("""shells, stamps, buttons, marbles, stickers, pebbles, feathers, acorns,
    pine cones, coins, keys, postcards, bottle caps, beads, rocks, crystals, buttons,
    leaves, toy cars, seashells, ribbons, badges""")

# ---------------------------------------------------------------------------------------------
# Nouns with irregular plurals (the last word of a phrase decides: "baby mouse" -> "baby mice")
# ---------------------------------------------------------------------------------------------
IRREGULAR_PLURAL = {
    "mouse": "mice", "dormouse": "dormice", "sheep": "sheep", "child": "children",
    "goose": "geese", "deer": "deer", "reindeer": "reindeer", "wolf": "wolves", "leaf": "leaves",
    "moose": "moose", "potato": "potatoes", "tomato": "tomatoes", "mango": "mangoes",
    "man": "men", "elf": "elves", "salmon": "salmon", "buffalo": "buffaloes",
    "octopus": "octopuses", "calf": "calves", "loaf": "loaves", "knife": "knives",
    "shelf": "shelves", "scarf": "scarves", "bison": "bison", "shrimp": "shrimp", "koi": "koi",
    "trout": "trout", "elk": "elk", "mongoose": "mongooses", "cactus": "cacti", "ox": "oxen",
    "hero": "heroes", "echo": "echoes", "volcano": "volcanoes", "domino": "dominoes",
    "woman": "women", "tooth": "teeth", "foot": "feet", "squid": "squid", "fish": "fish",
    "starfish": "starfish", "goldfish": "goldfish", "jellyfish": "jellyfish",
    "pufferfish": "pufferfish", "clownfish": "clownfish", "chest of drawers": "chests of drawers",
    "jack-in-the-box": "jack-in-the-boxes", "loaf of bread": "loaves of bread",
    "passer-by": "passers-by", "forget-me-not": "forget-me-nots", "kimono": "kimonos",
    "sari": "saris", "person": "people", "mosquito": "mosquitoes", "mackerel": "mackerel",
    "tuna": "tuna", "herring": "herring", "gnu": "gnus", "half": "halves", "wife": "wives",
    "life": "lives"}
AN_EXCEPTIONS = {"unicorn": "a", "uniform": "a", "useful": "a", "one": "a", "honest": "an",
                 "hour": "an", "usual": "a", "unique": "a", "one-of-a-kind": "a"}

# ---------------------------------------------------------------------------------------------
# Parts of coined names: onset + vowel (+ middle consonants + vowel) + an ending of the kind
# ---------------------------------------------------------------------------------------------
ONSETS = _w("""b bl br ch d dr f fl fr g gl gr h j k kl l m n p pl pr qu r s sc sh sk sl sm sn sp
    st sw t th tr tw v w wh y z""")
VOWELS = _w("a e i o u")
LONG_VOWELS = _w("ee oo ai")
CONSONANTS = _w("b d f g k l m n p r s t v z")
CLUSTERS = _w("br dr gr ll mm nn pp rr tt bb dd gg ld nd nt mb mp rl rn rd st ck")
COIN_ENDINGS = {
    "she": _w("a ia ina ella elle etta ie ara ena ora ida isa ita ola una ine ette elia ika"),
    "he": _w("o io an en on in us ic ik or ard el ert iel ias ando ur"),
    "they": _w("i y en ix ey ae el ren is"),
    "pet": _w("y ie o a ers les kins bo po zo ble boo chi sy"),
    "surname": _w("""ton son by well worth wick ley more kin field bottom foot whistle button
        berry wood stone bridge hill dale thorn brook pot kettle nose ington ock er wether"""),
    "town": _w("""wick ford ton bury dale mouth haven by field brook stead more holm thorpe ley
        worth bridge gate wood hollow vale combe minster well port burgh ham stow cliff marsh"""),
    "landmark": _w("a o en ell ine ar is ow an ia ora"),
    "creature": _w("""et kin ling ump oo le nik ster bat wock snout ax oodle ibble ooper wig zel
        ink"""),
    "plant": _w("ly le en ish ow er ick"),
    "treat": _w("le ble ster kin ot o a"),
    "gadget": _w("""flute box top kite drum ball horn wheel whistle bell spinner popper gig jig
        scope"""),
}
TOWN_STEMS = _w("""Apple Willow Thistle Clover Hazel Bramble Honey Maple Fern Oak Cedar Amber
    Copper Silver Ivy Holly Rose Mill Stone Fox Otter Rabbit Badger Wren Lark Robin Marsh Mead
    Green Brook Elder Juniper Rowan Bracken Heather Primrose Acorn Beech Ash Pebble Button
    Thimble Puddle Nettle Sorrel Bell Candle Crumble Muddle Tumble Whistle Kettle""")
PLANT_HEADS = _p("""fruit, berry, flower, tree, bush, vine, bean, root, nut, melon, plum, lily,
    reed, fern, mushroom, pod, blossom, seed, apple, pear""")
TREAT_HEADS = _p("""pie, cake, bun, tart, cookie, muffin, biscuit, pancake, dumpling, roll,
    waffle, pudding, scone, drop, crumble, fritter, puff, twist, sandwich, candy""")
LANDMARK_KINDS = ("the {} River", "Lake {}", "Mount {}", "{} Bay", "the {} Forest",
                  "{} Valley", "{} Island", "the {} Marsh", "{} Hill", "the {} Meadow")
SHOPS = {
    "toy shop": _p("kite, yo-yo, toy boat, spinning top, rag doll, jigsaw puzzle, music box"),
    "bakery": _p("birthday cake, cherry pie, honey cake, box of cookies, lemon tart"),
    "flower shop": _p("bunch of tulips, pot of daisies, single red rose, basket of violets"),
    "bookshop": _p("picture book, book of fairy tales, atlas, diary with a lock"),
    "hat shop": _p("straw hat, blue beret, woolly hat, hat with a feather"),
    "music shop": _p("harmonica, tin whistle, little drum, tambourine"),
    "candy shop": _p("jar of jelly beans, chocolate bar, bag of gumdrops, big lollipop"),
    "gift shop": _p("snow globe, teacup, picture frame, scarf, wind chime"),
}
GADGET_CAN = _p("""spin all by itself, play three little songs, glow in the dark,
    whistle like a bird, float in the bath, hum when it was happy, blow giant bubbles,
    tell the time, change color in the sun, roll up and down the stairs""")
FESTIVALS = _p("""Harvest Fair, Lantern Festival, Kite Festival, Pumpkin Parade, Apple Fair,
    Snow Festival, Flower Show, Summer Fair, Boat Race, Cheese Fair, Music Festival""")

# ---------------------------------------------------------------------------------------------
# Templates
# ---------------------------------------------------------------------------------------------
OPENINGS = (
    "Once upon a time, there was {a_kind} named {A}.",
    "Once upon a time, in {a_home}, there lived {a_kind} named {A}.",
    "One {time}, {A} the {kind} woke up early.",
    "There once was {a_kind} called {A}. {He} lived near the {place} with {his} family.",
    "{A} was {a_kind} who lived in {a_home2} by the {place}.",
    "It was {a_time}, and {weather}. {A} looked out of the window and smiled.",
    "Long ago, in a faraway land, there was {a_kind} named {A}.",
    "{A} was {age_word} years old, and {he} loved the {place} more than anything.",
    "{A} was {age_num} years old. {He} had {a_toy} that {he} took everywhere.",
    "Every {time}, {A} went to the {place} with {C}.",
    "In a little {home} at the edge of the {place}, there lived {a_kind} named {A}.",
    "Once there was {a_kind}. {His} name was {A}, and {he} {was} very {good}.",
    "In the town of {town}, there lived {a_kind} named {A}.",
    "Once upon a time, near {landmark}, there was {a_kind} named {A}.",
    "{A} lived at {house_num} {street}, in {a_home2} with {a_color} door.",
    "On {A}'s {age_ord} birthday, {weather}.",
)
DESCRIPTIONS = (
    "{He} loved to {activity}.",
    "{His} favorite thing to do was to {activity}.",
    "Every day, {he} would {activity} with {his} friends.",
    "{He} had {a_toy} that {he} loved very much.",
    "{His} favorite toy was {a_toy}.",
    "{He} liked {foods} and {mass} more than anything.",
    "{He} {was} {cadj} and {adj}, and everyone liked {him}.",
    "{He} lived with {C} in {a_home2}.",
    "{He} often {activity_past} in the {place}.",
    "Sometimes {he} {was} {bad}, but most days {he} {was} {good}.",
    "{He} always said, \"I'm going to {activity} today!\"",
    "{A} didn't like {mass}, but {he} loved {foods}.",
    "{He} always wore {his} {color2} {clothes}, even in summer.",
    "{His} {relative} was {old_age} years old and taught {him} how to {activity}.",
    "{A} kept {his} favorite {obj} {hiding}.",
)
SETTINGS = (
    "{A} lived in {town}, {a_town_adj} town near {landmark}.",
    "{A}'s home was in the little town of {town}.",
    "{His} family had moved to {town} when {he} {was} {young_age}.",
    "Every {weekday}, {A} went to {keeper}'s {shop} with {C}.",
    "{A} had a pet {pet_kind} named {pet}, and {pet} followed {him} everywhere.",
    "{A} had a pet {pet_kind} named {pet}. {pet} was {compound} and very {pet_adj}.",
    "Behind {his} {home} grew {a_gplant} with {color} leaves.",
    "{His} favorite snack was {a_treat} with {mass} on top.",
    "{He} had {a_gadget} that could {gadget_can}.",
    "Not far from {his} {home} lived a family of {creatures}.",
    "From {his} window, {A} could see {landmark}.",
)
FRIENDS = (
    "One day, {A} met {a_b_kind} named {B}.",
    "{A}'s best friend was {a_b_kind} called {B}.",
    "{A} had a friend named {B}. {B} was {a_b_kind} who liked to {activity2}.",
    "On the way to the {place}, {A} saw {a_b_kind}. \"Hello! I'm {B},\" {b_he} said.",
    "Next door lived {a_b_kind} named {B}, and {b_he} {b_was} {A}'s friend.",
    "At school, {A} sat next to {a_b_kind} named {B}.",
    "{B} was {a_b_kind} from {town2}, and {b_he} {b_was} {A}'s best friend.",
)
GREETINGS = (
    "\"Hi, {B}! Do you want to play with me?\" {A} asked. \"Yes, please!\" {B} {said}.",
    "\"What are you doing?\" {A} asked. \"I'm {activity2_ing},\" {B} {said}.",
    "{A} and {B} liked to {activity2} together.",
    "\"Let's go to the {place}!\" {B} {said}. \"Okay!\" said {A}.",
    "\"You're my best friend,\" {B} told {A} {adv}.",
    "\"{wow}, {A}! Is that {a_toy}?\" {B} asked.",
)
ARCS: dict[str, list[tuple[str, ...]]] = {
    "lost": [
        ("One {time}, {A} could not find {his} {color} {toy}.",
         "Then something bad happened: {A}'s {color} {toy} was gone!",
         "When {A} went to get {his} {toy}, it was not there."),
        ("{He} looked under the bed and behind the door, but it was not there.",
         "{He} looked everywhere. {He} looked in the kitchen and in the {place2}.",
         "{He} searched and searched, but {he} could not find it."),
        ("{A} felt {bad}. \"Where is my {toy}?\" {he} {said}.",
         "\"Oh no! My {toy} is lost!\" {A} {said}. {He} {was} very {bad}."),
        ("{B} saw that {A} was sad. \"Don't worry, I'll help you,\" {b_he} {said2}.",
         "{Cc} came to help. \"Let's look together,\" {c_he} said."),
        ("They looked {hiding}. There it was!",
         "At last, {B} found the {toy} {hiding}.",
         "After a long time, {A} saw something {color} {hiding}. It was the {toy}!"),
        ("{A} hugged {B}. \"Thank you!\" {he} {said}. \"You're a good friend.\"",
         "{A} was so {good}. {He} held the {toy} tight and smiled."),
    ],
    "stuck": [
        ("{A} and {B} were playing with {a_stuck} near a tall tree.",
         "One windy day, {A} took {his} {stuck} to the {place}."),
        ("Suddenly, the wind blew the {stuck} up into the tree.",
         "Whoosh! The {stuck} went up, up, up and got stuck in the branches."),
        ("\"{wow}! How can we get it down?\" {A} {said}.",
         "{A} tried to jump, but the tree was too tall.",
         "{A} jumped {n} times, but {he} could not reach it."),
        ("Then {B} had an idea. \"Let's ask {C} for help!\"",
         "{A_flyer} saw them and flew up to the branch.",
         "{B} found a long stick and gave it to {A}."),
        ("Together, they got the {stuck} down safely.",
         "With a little push, the {stuck} fell down into {A}'s arms."),
        ("Everyone cheered. \"Thank you!\" {A} {said} with a big smile.",
         "{A} and {B} laughed and played until it was time to go home."),
    ],
    "rain": [
        ("{A} and {B} wanted to have a picnic in the {place}.",
         "{A} packed {foods} and {mass} for a picnic with {B}."),
        ("But then dark clouds came, and it started to rain.",
         "Just as they sat down, big drops of rain began to fall."),
        ("\"Oh no! Our picnic is ruined,\" {B} {said}. {b_He} felt {bad}.",
         "{A} was {bad}. \"Now we can't play outside,\" {he} {said}."),
        ("Then {A} smiled. \"We can have a picnic inside!\"",
         "{Cc} said, \"Why don't you build a fort with blankets?\""),
        ("They put a blanket on the floor and ate their food in the living room.",
         "They built a big fort with pillows and chairs and ate {mass} inside it."),
        ("When the rain stopped, they saw a rainbow: red, orange, yellow, green, blue and purple.",
         "It was the best picnic ever, even with the rain."),
    ],
    "broken": [
        ("{A} was playing with a ball in the house, near the {adj} {breakable}.",
         "{A} wanted to look at the {adj} {breakable} on the high shelf."),
        ("Crash! The {breakable} fell on the floor and broke into {n} pieces.",
         "{He} bumped the table, and the {breakable} fell. It broke!"),
        ("{A} was scared. {He} wanted to hide the pieces.",
         "{A} thought, \"Maybe nobody will know...\""),
        ("But {he} knew that hiding was wrong. {He} went to {C} and said, "
         "\"I'm sorry. I broke the {breakable}.\"",
         "{He} took a deep breath and told {C} the truth."),
        ("{Cc} gave {A} a hug. \"Thank you for telling me the truth,\" {c_he} said.",
         "{Cc} was not angry. \"Accidents happen. Let's fix it together,\" {c_he} said."),
        ("They glued the pieces back together. It was not perfect, but it was still {adj2}.",
         "{A} felt {good}. Telling the truth made {him} feel light and free."),
    ],
    "share": [
        ("{A} and {B} both wanted to play with the {color} {toy}.",
         "At the {place}, there was only one {toy}, and {A} and {B} both wanted it."),
        ("\"It's mine!\" {A} {said}. \"No, it's mine!\" {B} {said2}.",
         "{A} pulled the {toy}, and {B} pulled it too."),
        ("They pulled so hard that they both fell down. Nobody was having fun.",
         "Soon both of them were {bad}, and the {toy} was on the ground."),
        ("{Cc} came over. \"Why don't you take turns?\" {c_he} asked.",
         "Then {A} had an idea. \"Let's take turns! You can go first,\" {he} said."),
        ("So {B} played first, and then {A} played. They counted to {n} each time.",
         "They took turns, and it was much more fun than fighting."),
        ("From then on, {A} and {B} always shared their toys.",
         "At the end of the day, they were best friends again."),
    ],
    "dark": [
        ("That night, {A} heard a strange noise outside {his} window.",
         "One night, {A} couldn't sleep. Something went \"tap, tap, tap\" on the window."),
        ("{He} pulled the blanket over {his} head. {He} {was} very {bad}.",
         "\"Who's there?\" {he} whispered. Nobody answered."),
        ("{A} took {his} flashlight and looked outside very {adv}.",
         "{A} wanted to be brave, so {he} got up and opened the curtain."),
        ("It was only a branch moving in the wind!",
         "It was just a little {animal} looking for a warm place to sleep.",
         "It was only {B}, who had come to say good night."),
        ("{A} laughed. \"There's nothing to be afraid of,\" {he} said.",
         "{A} felt {good}. The night wasn't so scary after all."),
        ("Then {he} closed {his} eyes and fell asleep.",
         "Soon {A} was fast asleep, dreaming of {activity_ing}."),
    ],
    "lost_way": [
        ("{A} and {B} went for a walk in the forest.",
         "One {time}, {A} followed {a_butterfly} deep into the woods."),
        ("After a while, {A} looked around. Everything looked the same. \"Where are we?\"",
         "Soon the trees were tall and dark, and {A} didn't know the way home."),
        ("{A} felt {bad}. {He} wanted to cry.",
         "\"We're lost,\" {A} {said}. {His} heart went thump, thump, thump."),
        ("Then {A} remembered what {C} said: \"If you are lost, follow the river.\"",
         "An old owl in a tree said, \"Hoo! Follow the path of white stones.\"",
         "Far away, {A} saw the smoke from the chimney of {his} {home}."),
        ("So {he} walked {adv} and didn't give up.",
         "Step by step, {A} found the way back."),
        ("At last, {A} saw {his} {home}. {Cc} was waiting at the door with a big hug.",
         "When {A} got home, {he} drank warm milk and told everyone about the adventure."),
    ],
    "race": [
        ("There was a big race at the {place}, and {A} wanted to win.",
         "{A} and {B} decided to have a race to the big tree."),
        ("\"Ready, set, go!\" {C} shouted, and they ran as fast as they could.",
         "They counted, \"One, two, three, go!\" and off they ran."),
        ("{A} was in front, but then {he} heard a cry. {B} had fallen down.",
         "Halfway there, {B} tripped over a stone and hurt {b_his} knee."),
        ("{A} stopped and ran back to help {b_him}.",
         "{A} could win, but {he} didn't want to leave {his} friend."),
        ("{He} helped {B} get up, and they walked to the finish together.",
         "{A} gave {B} a hand, and they crossed the line together."),
        ("They didn't win the race, but they were both {good}.",
         "Everyone clapped. \"You're a true winner,\" said {C}."),
    ],
    "new_friend": [
        ("One day, a new {b_kind} came to the {place}. {b_His} name was {B}.",
         "At the {place}, {A} saw {a_b_kind} named {B} sitting all alone."),
        ("{B} was very shy and didn't talk to anyone.",
         "{B} looked {bad}. Nobody was playing with {b_him}."),
        ("{A} walked over and said, \"Hi! My name is {A}. Do you want to play?\"",
         "{A} thought about how it feels to be alone. So {he} went to say hello."),
        ("{B} smiled a little. \"Yes, I'd like that,\" {b_he} said {adv}.",
         "At first {B} didn't say anything. Then {b_he} nodded."),
        ("They played {game} all afternoon.",
         "{A} showed {B} how to {activity}, and {B} showed {A} a funny trick."),
        ("Soon {A} and {B} were best friends.",
         "From that day on, {B} was never alone again."),
    ],
    "hungry": [
        ("In the {place}, {A} found a little {animal} that looked very hungry.",
         "One {time}, a small {animal} came to {A}'s door."),
        ("The {animal} was thin and sad. It hadn't eaten for {n} days.",
         "\"Poor little {animal},\" {A} {said}. \"You must be hungry.\""),
        ("{A} had {a_food} in {his} bag. {He} wanted to eat it, but...",
         "{A} only had one {food} left for {his} lunch."),
        ("{He} gave the {food} to the {animal}.",
         "{He} broke the {food} in half and shared it with the {animal}."),
        ("The {animal} ate it all and jumped up and down with joy.",
         "The {animal} ate {adv} and then looked up at {A} with big eyes."),
        ("After that, the {animal} came to visit {A} every day.",
         "{A} felt warm inside. Sharing felt better than eating alone."),
    ],
    "build": [
        ("{A} and {B} worked hard to build {a_built}.",
         "{A} spent all morning making {a_built}. It was {N} inches tall!"),
        ("Then a big wave came and knocked it down!",
         "Then the wind blew hard, and the {built} fell down.",
         "Then a puppy ran by and bumped into the {built}. Crash!"),
        ("\"My {built}!\" cried {A}. {He} {was} so {bad} that {he} wanted to give up.",
         "{A} sat down and looked at the mess. \"It's ruined,\" {he} said."),
        ("{B} said, \"Don't be sad. We can build it again, and we'll make it even better.\"",
         "{Cc} said, \"Let's try again together.\""),
        ("They worked together and made a new {built}. It was bigger and stronger than before.",
         "This time they used more sand, more sticks and more patience."),
        ("{A} looked at the new {built} and smiled. \"We did it!\"",
         "Everyone who walked by said, \"What {a_built2}!\""),
    ],
    "learn": [
        ("{A} wanted to learn how to {skill}.",
         "All of {A}'s friends could {skill}, but {A} could not."),
        ("The first time {he} tried, {he} fell down.",
         "{He} tried once, twice, and {n} times, but it was too hard."),
        ("\"I'll never learn!\" {A} said. {He} {was} {bad}.",
         "{A} wanted to stop trying. \"It's too hard,\" {he} said."),
        ("{Cc} said, \"Everyone needs practice. Try a little every day.\"",
         "{B} said, \"I wasn't good at first, too. Keep trying!\""),
        ("So {A} practiced every day. On day {N}, something happened.",
         "{A} practiced in the morning and in the evening."),
        ("At last, {A} could {skill}! \"I did it!\" {he} shouted.",
         "Soon {A} could {skill} all by {himself}."),
    ],
    "gift": [
        ("It was {C}'s birthday, and {A} wanted to give {c_him} a present.",
         "Tomorrow was a special day for {C}, and {A} wanted to make {c_him} happy."),
        ("But {A} had no money. There were only {N} cents in {his} piggy bank.",
         "{A} looked in {his} piggy bank. There were only {n} coins."),
        ("Then {he} had an idea. {He} would make a card!",
         "So {he} picked {n} {color} flowers in the garden."),
        ("{He} drew a big heart and wrote, \"I love you!\"",
         "{He} tied everything with {a_ribbon}."),
        ("When {C} saw the present, {c_he} smiled and gave {A} a big hug.",
         "{Cc} opened the present {adv}. {c_His} eyes filled with happy tears."),
        ("\"This is the best present ever,\" {c_he} said.",
         "{A} learned that the best presents come from the heart."),
    ],
    "garden": [
        ("{A} found a tiny seed in the garden.",
         "{Cc} gave {A} a small seed. \"This will be {a_plant0},\" {c_he} said."),
        ("{He} dug a little hole and put the seed inside.",
         "{He} planted the seed in a pot and put it by the window."),
        ("Every day, {A} watered the seed and waited. Nothing happened.",
         "{A} waited one day, two days, {n} days. Still nothing!"),
        ("\"Why isn't it growing?\" {A} asked. \"Be patient,\" {C} said.",
         "{A} almost gave up, but {he} kept giving it water and sunshine."),
        ("Then one morning, {A} saw a little green sprout!",
         "Then, one {time}, two tiny leaves came out of the ground."),
        ("After {N} days, the seed had become {a_plant}.",
         "By the end of summer, there was {a_plant} in the garden, and {A} was so proud."),
    ],
    "market": [
        ("{A} went to the market with {C}.",
         "One {time}, {C} took {A} to the busy market in town."),
        ("{Cc} gave {A} {N} coins to buy some {foods}.",
         "There were {foods}, {mass} and {color} balloons everywhere."),
        ("One {food} cost {price}. {A} counted {his} money very {adv}.",
         "{A} bought {n} {foods} and said, \"Thank you!\" to the seller."),
        ("On the way home, {A} saw an old man sitting by the road.",
         "Near the gate, {A} saw a little {animal} that had nothing to eat."),
        ("{A} shared some of {his} {foods}. \"Here, you can have these,\" {he} said.",
         "{A} gave away one {food} and kept the rest for dinner."),
        ("{Cc} smiled. \"I'm proud of you,\" {c_he} said.",
         "That night, everyone ate {foods} together, and {A} told the whole story."),
    ],
    "creature": [
        ("One {time}, {A} found {a_creature} hiding {hiding}.",
         "Deep in the {place}, {A} heard a tiny sound. It came from {a_creature}!",
         "On the path to {town}, {A} met {a_creature}, and nobody had ever seen one before."),
        ("It was {a_compound} little thing, {color} and {adj}.",
         "The {creature} was no bigger than {a_food2}, with {n2} tiny feet and {a_color} nose."),
        ("The {creature} looked {bad}. It was lost and far from home.",
         "\"{sfx}!\" went the {creature} in a small, {bad} voice."),
        ("{A} gave it a little {mass} and made a bed for it in {a_container}.",
         "{A} and {B} built a little house for the {creature} out of {a_obj} and some moss."),
        ("The next morning, the {creature} {move_past} around the room. It felt {good} again.",
         "Soon the {creature} was strong again, and it {move_past} in circles."),
        ("{A} took the {creature} back to the {place}, where its family was waiting.",
         "Now the {creature} comes to visit {A} every {weekday}."),
    ],
    "shop": [
        ("{A} wanted to buy {a_gift} for {C}, so {he} went to {keeper}'s {shop}.",
         "It was almost {C}'s birthday. {A} went to {keeper}'s {shop} to find {a_gift}."),
        ("There was {a_gift} in the window. It cost {price}.",
         "{Keeper} showed {A} the {gift}. \"That costs {price},\" {keeper_he} said."),
        ("But {A} only had {price_low}. {He} {was} {bad}.",
         "{A} counted {his} coins: only {price_low}. It was not enough."),
        ("{Keeper} smiled. \"You can help me in the shop today, and then it's yours.\"",
         "\"I have an idea,\" said {keeper}. \"Can you help me tidy the shelves?\""),
        ("{A} swept the floor, dusted {n} shelves and put {N} boxes in neat rows.",
         "{A} worked hard all afternoon. {He} {handle_past} every {obj} in the shop."),
        ("When {A} gave {C} the {gift}, {c_he} smiled from ear to ear.",
         "{A} wrapped the {gift} in {color} paper and gave it to {C}."),
    ],
    "trip": [
        ("One {weekday}, {A} and {C} took the train to {town2}.",
         "{Cc} and {A} were going to visit {town2} by train."),
        ("The train left at {hhmm}, and the tickets cost {price} each.",
         "They got to the station at {hhmm}. The train to {town2} was on platform {platform}."),
        ("But when the conductor came, {A} could not find {his} ticket!",
         "Then {A} looked in {his} pocket. The ticket was gone!"),
        ("{He} looked under the seat, in {his} bag and even in {his} {clothes}.",
         "{A} felt {bad}. \"What if they stop the train?\" {he} whispered."),
        ("At last, {A} found it. It was stuck to the bottom of {his} shoe! Everyone laughed.",
         "The conductor, {a_compound} {prof_person}, found the ticket on the floor."),
        ("In {town2}, they saw {landmark} and ate {foods} by the water.",
         "{Town2} was {adj} and busy. They walked by {landmark} and counted {N} boats."),
    ],
    "festival": [
        ("Every year on {month} {day_ord}, {town} had a big {festival}.",
         "It was the day of the {festival} in {town}, and everyone was excited."),
        ("This year, {A} wanted to bake {a_treat} for the contest.",
         "{A} and {C} decided to bake {a_treat} for the big contest."),
        ("{He} needed {n} eggs, {N2} spoons of honey and {frac} cup of sugar.",
         "The recipe said: {N2} spoons of butter, {n} eggs and a pinch of salt. "
         "Bake for {mins} minutes."),
        ("But the {treat} came out of the oven flat and burnt!",
         "Oh no! {B} bumped the table, and the {treat} fell on the floor."),
        ("{A} did not give up. {He} baked another one, even better than the first.",
         "So they started again, and this time they were very careful."),
        ("The judges tasted it and gave {A} {a_color} ribbon for {ord_place} place.",
         "{A} did not win first prize, but everyone in {town} asked for a second {treat}."),
    ],
    "collect": [
        ("{A} loved to collect {collectibles}.",
         "{A} had a big jar full of {collectibles}."),
        ("{He} had {big_count} of them, and {he} knew every one.",
         "Every {weekday}, {he} counted them: {big_count} in all."),
        ("One day, {A} found a very rare one. It was from the year {year}!",
         "One day, {B} gave {A} a very old one. It was made in {year}."),
        ("{A} put it in a special box with {a_color} lid.",
         "{A} showed it to everyone at school, and they all said, \"{wow}!\""),
        ("Then {A} saw that {B} had none at all.",
         "{B} looked at the collection and sighed. \"I wish I had some,\" {b_he} said."),
        ("So {A} gave {B} {n} of {his} {collectibles} to start a collection too.",
         "{A} shared {his} {collectibles}, and now they collect them together."),
    ],
}
DETAILS = (
    "The {nature} looked {adj3} in the {light}.",
    "Around them, {weather}.",
    "{A} could hear {noise}.",
    "The air smelled of {smell}.",
    "{He} wore {his} {color2} {clothes} that day.",
    "{A} {action_past} {adv2} and looked around.",
    "There were {n} {animals} by the {nature}.",
    "{A_nature} stood at the end of the path.",
    "{He} counted {n2} {animals}: one, two, three, and more!",
    "It was {hhmm}, and {weather}.",
    "\"{wow}!\" {A} {said3}. \"Look at the {nature}!\"",
    "{B} {action_past} and {action2_past}, and {A} laughed.",
    "{He} hummed a little song about {animals} and {foods}.",
    "Nearby, {a_animal2} was {action_ing} in the {nature}.",
    "The {nature} was {color} and {adj3}.",
    "{A_compound} {animal2} {move_past} past them.",
    "{A} found {a_adj_obj} {hiding} and {handle_past} it {adv2}.",
    "On the way, they passed {a_prof} with {a_material_obj}.",
    "{A} {eat_past} {a_food2} and {drink_past} some {drink}.",
    "{A_adj_vehicle} {vehicle_move} down the road.",
    "Somewhere, someone was playing {a_instrument}.",
    "{B} played a little tune on {b_his} {instrument}.",
    "The {flowers} by the {nature} were {color} and {adj3}.",
    "{N_small} {birds} were sitting on the {perch}.",
    "It was {temp} degrees outside.",
    "The old {tree} tree had been there since {year}.",
    "The clock on the wall said {hhmm}.",
    "{A} wrote the date in {his} notebook: {month} {day_ord}, {year}.",
    "{A} picked {n} {flowers} for {C}.",
    "\"{sfx}!\" {A} jumped. It was only {a_voice_animal} that {voice}.",
    "Everything in the {place} looked {hyphen_adj}.",
    "There were more than {big_count} stars in the sky that night.",
    "{He} had {N_small} coins and {n} buttons in {his} pocket.",
    "Bus number {bus_num} stopped by the {place}.",
    "The {flower} in {his} hand was {shade} {color2}.",
    "{A} wore {his} {plural_clothes} and {his} {fabric} {clothes}.",
    "{A_prof} waved at them from {a_vehicle}.",
    "Under {a_tree} tree, {a_voice_animal} {voice}.",
    "{A} {handle_past} {his} {toy} and put it back in {his} bag.",
)
TRANSITIONS = _p("""Later that day, The next morning, A few minutes later, After lunch,
    Before dinner, Meanwhile, Just then, Suddenly, All of a sudden, After a while,
    In the blink of an eye, Soon, At half past four, Ten minutes later, By the afternoon,
    Early the next day, That evening""")
SOUND_LINES = ("The {pet_kind} went \"{sound}!\"", "\"{sound}, {sound_lc}!\" said the {pet_kind}.")
ENDINGS = (
    "From that day on, {A} and {B} were the best of friends.",
    "And they all lived happily ever after.",
    "{A} went to bed that night with a big smile on {his} face.",
    "It was the best day ever.",
    "The end.",
    "{A} couldn't wait to tell {C} all about it.",
    "That night, {A} dreamed of {activity_ing}.",
    "Then they went home and had {mass} and {foods}.",
    "{A} would never forget that {time}.",
    "\"Let's do it again tomorrow!\" {A} {said}, and {B} nodded.",
    "{A} and {B} played until the sun went down; then they waved goodbye.",
    "It was {hhmm} when {A} finally fell asleep.",
    "Everyone in {town} talked about it for {n} days.",
    "{A} wrote about it in {his} diary, page {page}.",
)
MORALS = _p("""sharing makes everyone happy, it is good to be kind to others,
    friends help each other, being brave does not mean you are never scared,
    it is okay to ask for help, telling the truth is always best, patience is important,
    hard work pays off, it is important to say sorry, everyone is special in their own way,
    trying new things can be fun, teamwork makes hard jobs easy, it is wise to be careful,
    a true friend stays by your side, being different is a good thing,
    small acts of kindness matter, practice makes things easier,
    we should take care of nature, you should never give up, taking turns is fair,
    saying thank you makes people smile, listening is as important as talking,
    it is better to be gentle, a little help can go a long way,
    you do not have to be big to do big things, home is where the people who love you are,
    a good plan starts with a good question, mistakes help us learn,
    kindness is worth more than gold, it is fun to learn something new every day""")
MORAL_LINES = (
    "{A} learned that {moral}.",
    "From this day, {A} knew that {moral}.",
    "The moral of the story is: {moral}.",
    "\"{Moral},\" said {C}.",
    "{A} and {B} learned an important lesson: {moral}.",
)
# Said again when a named character, place or coined thing was mentioned only once.
CALLBACKS = {
    "A": ("{A} smiled.",),
    "B": ("{A} waved goodbye to {B}.", "Later, {A} told {B} all about it.",
          "{B} gave {A} a hug."),
    "C": ("{A} gave {C} a big hug.", "{A} could not wait to see {C} again."),
    "pet": ("{pet} the {pet_kind} was happy to see {A} again.", "{pet} curled up next to {A}.",
            "{A} gave {pet} a pat on the head."),
    "town": ("It was a good day in {town}.", "Everyone in {town} heard about it the next day."),
    "town2": ("{A} would always remember {town2}.",),
    "landmark": ("Far away, {landmark} glowed in the {light}.",
                 "{A} looked back at {landmark} one last time."),
    "keeper": ("{A} waved to {keeper} on the way home.",),
    "creature": ("{A} never forgot the little {creature}.",),
    "gplant": ("{A} kept a seed of the {gplant} in {his} pocket.",),
    "treat": ("{A} still remembered the taste of the {treat}.",),
    "gadget": ("{A} put the {gadget} on {his} shelf.",),
    "toy": ("{A} held {his} {toy} close.",),
    "food": ("{A} saved one last {food} for later.",),
}
