import sharp from 'sharp';
const raw = Buffer.alloc(28*28);
for (let i=0;i<3000;i++) await sharp(raw,{raw:{width:28,height:28,channels:1}}).raw().toBuffer();
